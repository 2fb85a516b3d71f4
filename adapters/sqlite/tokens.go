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

// TokenStore is ports.TokenStore on the tokens table, keyed by the
// secret's hash (every API request looks one up) with an owner index (the
// profile page lists and revokes them).
type TokenStore struct{ db *DB }

var _ ports.TokenStore = (*TokenStore)(nil)

// NewTokenStore uses db's tokens table.
func NewTokenStore(db *DB) *TokenStore { return &TokenStore{db: db} }

// Create stores t; ErrExists if its hash, or its id for the same user, is
// taken; ErrInvalidToken if t is incomplete.
func (s *TokenStore) Create(ctx context.Context, t ports.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	err := s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, owner, id, name, created, last_used) VALUES (?, ?, ?, ?, ?, ?)`,
			t.Hash, t.User, t.ID, t.Name, unixNano(t.CreatedAt), unixNano(t.LastUsed))
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `hash, owner, id, name, created, last_used`

func scanToken(row interface{ Scan(...any) error }) (ports.APIToken, error) {
	var t ports.APIToken
	var created, used int64
	if err := row.Scan(&t.Hash, &t.User, &t.ID, &t.Name, &created, &used); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsed = fromUnixNano(created), fromUnixNano(used)
	return t, nil
}

// ByHash finds a token by secret hash.
func (s *TokenStore) ByHash(ctx context.Context, hash string) (ports.APIToken, error) {
	t, err := scanToken(s.db.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return ports.APIToken{}, fmt.Errorf("token: %w", ports.ErrNotFound)
	}
	if err != nil {
		return ports.APIToken{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// List returns a user's tokens newest first, ties by id.
func (s *TokenStore) List(ctx context.Context, user domain.UserID) ([]ports.APIToken, error) {
	rows, err := s.db.query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE owner = ? ORDER BY created DESC, id`, user)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", user, err)
	}
	defer rows.Close()
	out := []ports.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens of %s: %w", user, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Delete revokes one of the user's tokens.
func (s *TokenStore) Delete(ctx context.Context, user domain.UserID, id string) error {
	return s.changeOne(ctx, fmt.Sprintf("delete token %s", id), `DELETE FROM tokens WHERE owner = ? AND id = ?`, user, id)
}

// Touch records the last use of a token.
func (s *TokenStore) Touch(ctx context.Context, hash string, at time.Time) error {
	return s.changeOne(ctx, "touch token", `UPDATE tokens SET last_used = ? WHERE hash = ?`, unixNano(at), hash)
}

// changeOne runs a statement that must change exactly one row;
// ErrNotFound when it changed none.
func (s *TokenStore) changeOne(ctx context.Context, what, query string, args ...any) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ports.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// unixNano stores a time as UTC nanoseconds; the zero time is 0, so "never"
// survives the round trip.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
