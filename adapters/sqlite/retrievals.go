package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/ports"
)

// Retrievals is the local cold storage's bookkeeping (disk.Retrievals) on
// the retrievals table, so retrievals started before a crash still
// complete, and are still announced, after a restart.
type Retrievals struct{ db *DB }

var _ disk.Retrievals = (*Retrievals)(nil)

// NewRetrievals uses db's retrievals table.
func NewRetrievals(db *DB) *Retrievals { return &Retrievals{db: db} }

// Add records a new retrieval.
func (r *Retrievals) Add(ctx context.Context, x disk.Retrieval) error {
	err := r.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO retrievals (id, archive, tier, ready_at, notified) VALUES (?, ?, ?, ?, ?)`,
			x.ID, x.ArchiveID, x.Tier, x.ReadyAt.UnixNano(), x.Notified)
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("record retrieval %s: %w", x.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("record retrieval %s: %w", x.ID, err)
	}
	return nil
}

// Get returns a retrieval; ErrNotFound if there is none with id.
func (r *Retrievals) Get(ctx context.Context, id string) (disk.Retrieval, error) {
	x, err := scanRetrieval(r.db.queryRow(ctx, `SELECT id, archive, tier, ready_at, notified FROM retrievals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fmt.Errorf("retrieval %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return x, fmt.Errorf("retrieval %s: %w", id, err)
	}
	return x, nil
}

// Pending lists the retrievals whose completion has not been announced,
// soonest first.
func (r *Retrievals) Pending(ctx context.Context) ([]disk.Retrieval, error) {
	rows, err := r.db.query(ctx, `SELECT id, archive, tier, ready_at, notified FROM retrievals WHERE notified = 0 ORDER BY ready_at`)
	if err != nil {
		return nil, fmt.Errorf("pending retrievals: %w", err)
	}
	defer rows.Close()
	var out []disk.Retrieval
	for rows.Next() {
		x, err := scanRetrieval(rows)
		if err != nil {
			return nil, fmt.Errorf("pending retrievals: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// MarkNotified records that the retrieval's completion was announced.
func (r *Retrievals) MarkNotified(ctx context.Context, id string) error {
	err := r.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE retrievals SET notified = 1 WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("retrieval %s: %w", id, err)
	}
	return nil
}

func scanRetrieval(row interface{ Scan(...any) error }) (disk.Retrieval, error) {
	var x disk.Retrieval
	var ready int64
	if err := row.Scan(&x.ID, &x.ArchiveID, &x.Tier, &ready, &x.Notified); err != nil {
		return disk.Retrieval{}, err
	}
	x.ReadyAt = time.Unix(0, ready).UTC()
	return x, nil
}
