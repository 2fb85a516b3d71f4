package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// DefaultOutboxSize is how many e-mails an Outbox keeps when asked for 0.
const DefaultOutboxSize = 1000

// SentEmail is one e-mail the outbox accepted.
type SentEmail struct {
	ports.Email
	// Seq numbers messages in sending order.
	Seq    int64
	SentAt time.Time
}

// Outbox is local mode's ports.Mailer: it keeps sent e-mails, by the user
// they were sent to, for the outbox page, instead of mailing anyone. It
// keeps the most recent ones only, so a long-running server does not grow
// without bound.
type Outbox struct {
	db    *DB
	clock ports.Clock
	keep  int
}

var _ ports.Mailer = (*Outbox)(nil)

// NewOutbox keeps up to keep e-mails (DefaultOutboxSize when 0) in db,
// timestamped with clock.
func NewOutbox(db *DB, clock ports.Clock, keep int) (*Outbox, error) {
	if db == nil || clock == nil || keep < 0 {
		return nil, fmt.Errorf("sqlite outbox: a database, a clock and a size >= 0 are required")
	}
	if keep == 0 {
		keep = DefaultOutboxSize
	}
	return &Outbox{db: db, clock: clock, keep: keep}, nil
}

// Send validates e as a mail service would (a valid recipient address, a
// subject and a body) and keeps it.
func (o *Outbox) Send(ctx context.Context, e ports.Email) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	err := o.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (owner, to_addr, subject, text, html, sent_at) VALUES (?, ?, ?, ?, ?, ?)`,
			e.User, e.To, e.Subject, e.Text, e.HTML, o.clock.Now().UnixNano())
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, seq-int64(o.keep))
		return err
	})
	if err != nil {
		return fmt.Errorf("send to %s: %w", e.To, err)
	}
	return nil
}

// SentTo lists the kept e-mails sent to user, newest first.
func (o *Outbox) SentTo(ctx context.Context, user domain.UserID) ([]SentEmail, error) {
	return o.list(ctx, `WHERE owner = ?`, user)
}

// Sent lists every kept e-mail, newest first.
func (o *Outbox) Sent(ctx context.Context) ([]SentEmail, error) { return o.list(ctx, "") }

func (o *Outbox) list(ctx context.Context, where string, args ...any) ([]SentEmail, error) {
	rows, err := o.db.query(ctx, `SELECT seq, owner, to_addr, subject, text, html, sent_at FROM outbox `+where+` ORDER BY seq DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []SentEmail
	for rows.Next() {
		var e SentEmail
		var at int64
		if err := rows.Scan(&e.Seq, &e.User, &e.To, &e.Subject, &e.Text, &e.HTML, &at); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		e.SentAt = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
