package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// SessionStore is ports.SessionStore on the sessions table. Every create
// also deletes sessions that have expired (the expiry index makes that a
// short range scan), so the table holds live sessions and a few dead ones.
type SessionStore struct{ db *DB }

var _ ports.SessionStore = (*SessionStore)(nil)

// NewSessionStore uses db's sessions table.
func NewSessionStore(db *DB) *SessionStore { return &SessionStore{db: db} }

// Create stores s; ErrExists if its id is taken, ErrInvalidSession if s is incomplete.
func (s *SessionStore) Create(ctx context.Context, sess ports.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	err := s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, sess.CreatedAt.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, owner, created, expires) VALUES (?, ?, ?, ?)`,
			sess.ID, sess.User, sess.CreatedAt.UnixNano(), sess.ExpiresAt.UnixNano())
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("create session of %s: %w", sess.User, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create session of %s: %w", sess.User, err)
	}
	return nil
}

// Get returns the session if it is live at now.
func (s *SessionStore) Get(ctx context.Context, id string, now time.Time) (ports.Session, error) {
	var sess ports.Session
	var created, expires int64
	err := s.db.queryRow(ctx, `SELECT id, owner, created, expires FROM sessions WHERE id = ? AND expires > ?`,
		id, now.UnixNano()).Scan(&sess.ID, &sess.User, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ports.Session{}, fmt.Errorf("session: %w", ports.ErrNotFound)
	}
	if err != nil {
		return ports.Session{}, fmt.Errorf("session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return sess, nil
}

// Delete ends one session.
func (s *SessionStore) Delete(ctx context.Context, id string) error {
	return s.exec(ctx, "end session", `DELETE FROM sessions WHERE id = ?`, id)
}

// DeleteUser ends every session of user.
func (s *SessionStore) DeleteUser(ctx context.Context, user domain.UserID) error {
	return s.exec(ctx, "end sessions of "+string(user), `DELETE FROM sessions WHERE owner = ?`, user)
}

func (s *SessionStore) exec(ctx context.Context, what, query string, args ...any) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
