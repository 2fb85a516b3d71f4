package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// UserStore is ports.UserStore on the users table: the profile snapshot
// as JSON and its version for compare-and-set.
type UserStore struct{ db *DB }

var _ ports.UserStore = (*UserStore)(nil)

// NewUserStore uses db's users table.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

// Create stores a new profile; ErrExists if the user already has one.
func (s *UserStore) Create(ctx context.Context, user *domain.User) error {
	if user == nil {
		return fmt.Errorf("create user: nil user")
	}
	snap := user.Snapshot()
	if _, err := domain.RestoreUser(snap); err != nil {
		return fmt.Errorf("create user %s: %w", snap.ID, err)
	}
	js, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("create user %s: %w", snap.ID, err)
	}
	err = s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, version, snapshot) VALUES (?, ?, ?)`, snap.ID, snap.Version, js)
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("create user %s: %w", snap.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", snap.ID, err)
	}
	return nil
}

// Get returns the profile; ErrNotFound if the user never signed in.
func (s *UserStore) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
	var js []byte
	err := s.db.queryRow(ctx, `SELECT snapshot FROM users WHERE id = ?`, id).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get user %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	var snap domain.UserSnapshot
	if err := json.Unmarshal(js, &snap); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	u, err := domain.RestoreUser(snap)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}

// Update replaces the profile if the stored version equals user.Version()
// and returns it at the next version.
func (s *UserStore) Update(ctx context.Context, user *domain.User) (*domain.User, error) {
	if user == nil {
		return nil, fmt.Errorf("update user: nil user")
	}
	snap := user.Snapshot()
	snap.Version++
	out, err := domain.RestoreUser(snap)
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	js, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	err = s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET version = ?, snapshot = ? WHERE id = ? AND version = ?`,
			snap.Version, js, snap.ID, snap.Version-1)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var stored int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM users WHERE id = ?`, snap.ID).Scan(&stored); errors.Is(err, sql.ErrNoRows) {
			return ports.ErrNotFound
		} else if err != nil {
			return err
		}
		return fmt.Errorf("at version %d (stored %d): %w", snap.Version-1, stored, ports.ErrConflict)
	})
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	return out, nil
}

// List pages through the profiles in id order (the primary key); the
// cursor is the last id of the page before.
func (s *UserStore) List(ctx context.Context, cursor string, limit int) ([]*domain.User, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("list users: limit %d must be positive", limit)
	}
	rows, err := s.db.query(ctx, `SELECT id, snapshot FROM users WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*domain.User
	for rows.Next() {
		var id string
		var js []byte
		if err := rows.Scan(&id, &js); err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
		}
		var snap domain.UserSnapshot
		if err := json.Unmarshal(js, &snap); err != nil {
			return nil, "", fmt.Errorf("decode user %s: %w", id, err)
		}
		u, err := domain.RestoreUser(snap)
		if err != nil {
			return nil, "", fmt.Errorf("load user %s: %w", id, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	next := ""
	if len(out) > limit {
		out, next = out[:limit], string(out[limit-1].ID())
	}
	return out, next, nil
}
