package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/ports"
)

// Queue limits shared with SQS (and the memory queue), so what runs
// locally also runs on AWS.
const (
	// MaxReceiveBatch is the most messages one Receive returns.
	MaxReceiveBatch = 10
	// SQSMaxDelay is the longest delay Send honours; longer ones are
	// clamped, so local mode exercises the re-delay path AWS needs.
	SQSMaxDelay = 15 * time.Minute
	// DefaultVisibility is used when Receive is given no visibility.
	DefaultVisibility = 30 * time.Second
)

// ErrStaleReceipt is returned by ExtendVisibility for a delivery that is
// no longer in flight (deleted, expired or redelivered).
var ErrStaleReceipt = errors.New("receipt is not for a message in flight")

// Queue is ports.Queue on the messages table with SQS semantics: delayed
// sends, visibility timeouts and redelivery with a receive count, and a
// dead-letter queue that takes a message instead of delivering it after
// maxReceives deliveries. A message is one row; its queue column says
// where it is, so moving it to the dead-letter queue is one update and
// every state survives a crash. Receives are ordered by the time a
// message (next) becomes visible, then by send order, from one index.
//
// Long polls wait in process: Send and visibility releases wake the
// queue's receivers, and a timer wakes them when the next delayed or
// in-flight message is due. One process owns the database (Open's lock),
// so nothing else can add messages behind their back.
type Queue struct {
	db          *DB
	name        string
	clock       ports.Clock
	dlq         *Queue
	maxReceives int
	maxDelay    time.Duration

	mu   sync.Mutex
	wake chan struct{} // closed and replaced when a message may have become receivable
}

// QueueOption configures a Queue.
type QueueOption func(*Queue) error

// WithDeadLetter moves a message to dlq instead of delivering it a
// (maxReceives+1)th time, like an SQS redrive policy.
func WithDeadLetter(dlq *Queue, maxReceives int) QueueOption {
	return func(q *Queue) error {
		switch {
		case dlq == nil || maxReceives < 1:
			return fmt.Errorf("dead-letter queue needs a queue and maxReceives >= 1 (got %d)", maxReceives)
		case dlq.name == q.name:
			return fmt.Errorf("a queue cannot be its own dead-letter queue")
		case dlq.db != q.db:
			return fmt.Errorf("dead-letter queue %s is in another database", dlq.name)
		}
		q.dlq, q.maxReceives = dlq, maxReceives
		return nil
	}
}

// WithMaxDelay changes the longest delay Send honours; 0 lifts the limit.
func WithMaxDelay(d time.Duration) QueueOption {
	return func(q *Queue) error {
		if d < 0 {
			return fmt.Errorf("negative max delay %s", d)
		}
		q.maxDelay = d
		return nil
	}
}

// NewQueue opens the queue called name in db, with whatever messages it
// already holds, timed by clock.
func NewQueue(db *DB, name string, clock ports.Clock, opts ...QueueOption) (*Queue, error) {
	if db == nil || name == "" || clock == nil {
		return nil, fmt.Errorf("sqlite queue %q: a database, a name and a clock are required", name)
	}
	q := &Queue{db: db, name: name, clock: clock, maxDelay: SQSMaxDelay, wake: make(chan struct{})}
	for _, o := range opts {
		if err := o(q); err != nil {
			return nil, fmt.Errorf("sqlite queue %s: %w", name, err)
		}
	}
	return q, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Send enqueues m's body in its group, invisible until its delay has
// passed (clamped to the queue's maximum delay).
func (q *Queue) Send(ctx context.Context, m ports.Outgoing) error {
	if m.Delay < 0 {
		return fmt.Errorf("send to %s: negative delay %s", q.name, m.Delay)
	}
	err := q.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return q.insert(ctx, tx, m) })
	if err != nil {
		return fmt.Errorf("send to %s: %w", q.name, err)
	}
	q.notify()
	return nil
}

func (q *Queue) insert(ctx context.Context, tx *sql.Tx, m ports.Outgoing) error {
	delay := m.Delay
	if q.maxDelay > 0 && delay > q.maxDelay {
		delay = q.maxDelay
	}
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (queue, id, body, grp, visible_at) VALUES (?, ?, ?, ?, ?)`,
		q.name, strings.ToLower(rand.Text()), body, m.Group, q.clock.Now().Add(delay).UnixNano())
	return err
}

// notify wakes the queue's waiting receivers.
func (q *Queue) notify() {
	q.mu.Lock()
	close(q.wake)
	q.wake = make(chan struct{})
	q.mu.Unlock()
}

func (q *Queue) waitChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wake
}

// Receive waits up to wait (on the queue's clock) until a message is
// visible and returns up to maxMessages (clamped to 1..MaxReceiveBatch),
// each hidden for visibility (DefaultVisibility if not positive).
// Messages already received maxReceives times move to the dead-letter
// queue instead.
func (q *Queue) Receive(ctx context.Context, maxMessages int, visibility, wait time.Duration) ([]ports.Message, error) {
	limit := min(MaxReceiveBatch, max(maxMessages, 1))
	if visibility <= 0 {
		visibility = DefaultVisibility
	}
	deadline := q.clock.Now().Add(max(wait, 0))
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.name, err)
		}
		wake := q.waitChan()
		now := q.clock.Now()
		got, next, err := q.take(ctx, now, limit, visibility)
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.name, err)
		}
		if len(got) > 0 || !now.Before(deadline) {
			return got, nil
		}
		if next.IsZero() || next.After(deadline) {
			next = deadline
		}
		if err := q.sleep(ctx, wake, next); err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.name, err)
		}
	}
}

// alarmClock is a clock that can call back at a time (memory's system and
// fake clocks both can), so a waiting receiver follows a fake clock.
type alarmClock interface {
	AtFunc(t time.Time, f func()) (stop func() bool)
}

// sleep waits until the clock reaches at, the queue is woken, or ctx ends.
func (q *Queue) sleep(ctx context.Context, wake <-chan struct{}, at time.Time) error {
	alarm := make(chan struct{})
	var stop func() bool
	if ac, ok := q.clock.(alarmClock); ok {
		stop = ac.AtFunc(at, func() { close(alarm) })
	} else {
		stop = time.AfterFunc(at.Sub(q.clock.Now()), func() { close(alarm) }).Stop
	}
	defer stop()
	select {
	case <-wake:
	case <-alarm:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// take delivers up to limit visible messages in one transaction, moving
// exhausted ones to the dead-letter queue, and reports when the next
// message of the queue becomes visible (zero if none) when it delivered
// nothing.
func (q *Queue) take(ctx context.Context, now time.Time, limit int, visibility time.Duration) (out []ports.Message, next time.Time, err error) {
	moved := false
	err = q.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out, moved = out[:0], false
		for len(out) < limit {
			ms, err := q.visible(ctx, tx, now, limit-len(out))
			if err != nil || len(ms) == 0 {
				return err
			}
			for _, m := range ms {
				if q.dlq != nil && m.Receives >= q.maxReceives {
					if _, err := tx.ExecContext(ctx, `UPDATE messages SET queue = ?, visible_at = ?, receipt = '' WHERE seq = ?`,
						q.dlq.name, now.UnixNano(), m.seq); err != nil {
						return err
					}
					moved = true
					continue
				}
				m.Receives++
				m.Receipt = fmt.Sprintf("%d.%d.%s", m.seq, m.Receives, strings.ToLower(rand.Text()[:10]))
				if _, err := tx.ExecContext(ctx, `UPDATE messages SET receives = ?, visible_at = ?, receipt = ? WHERE seq = ?`,
					m.Receives, now.Add(visibility).UnixNano(), m.Receipt, m.seq); err != nil {
					return err
				}
				out = append(out, m.Message)
			}
		}
		return nil
	})
	if moved {
		q.dlq.notify()
	}
	if err != nil || len(out) > 0 {
		return out, time.Time{}, err
	}
	var at sql.NullInt64
	if err := q.db.queryRow(ctx, `SELECT min(visible_at) FROM messages WHERE queue = ?`, q.name).Scan(&at); err != nil {
		return nil, time.Time{}, err
	}
	if at.Valid {
		next = time.Unix(0, at.Int64)
	}
	return nil, next, nil
}

type row struct {
	ports.Message
	seq int64
}

// visible reads up to n messages visible at now, in delivery order.
func (q *Queue) visible(ctx context.Context, tx *sql.Tx, now time.Time, n int) ([]row, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, id, body, grp, receives FROM messages
		WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`, q.name, now.UnixNano(), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.ID, &r.Body, &r.Group, &r.Receives); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// seqOf reads the message number out of a receipt ("<seq>.<n>.<random>").
func seqOf(receipt string) (int64, bool) {
	s, _, ok := strings.Cut(receipt, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Delete acknowledges a delivery. Like SQS, any receipt issued for the
// message deletes it while it is in this queue, and deleting an already
// deleted message is not an error.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	seq, ok := seqOf(receipt)
	if !ok {
		return fmt.Errorf("delete from %s: malformed receipt %q", q.name, receipt)
	}
	err := q.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE seq = ? AND queue = ?`, seq, q.name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete from %s: %w", q.name, err)
	}
	return nil
}

// ExtendVisibility hides the delivery for d from now; d = 0 makes it
// visible at once. ErrStaleReceipt unless receipt is the message's
// current, in-flight delivery.
func (q *Queue) ExtendVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("extend visibility in %s: negative duration %s", q.name, d)
	}
	seq, ok := seqOf(receipt)
	if !ok {
		return fmt.Errorf("extend visibility in %s: %w", q.name, ErrStaleReceipt)
	}
	now := q.clock.Now()
	err := q.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET visible_at = ?
			WHERE seq = ? AND queue = ? AND receipt = ? AND visible_at > ?`,
			now.Add(d).UnixNano(), seq, q.name, receipt, now.UnixNano())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrStaleReceipt
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("extend visibility in %s: %w", q.name, err)
	}
	if d == 0 {
		q.notify()
	}
	return nil
}

// Stats counts messages now visible, in flight and delayed.
func (q *Queue) Stats(ctx context.Context) (ports.QueueStats, error) {
	now := q.clock.Now().UnixNano()
	var s ports.QueueStats
	err := q.db.queryRow(ctx, `SELECT
		count(*) FILTER (WHERE visible_at <= ?1),
		count(*) FILTER (WHERE visible_at > ?1 AND receipt != ''),
		count(*) FILTER (WHERE visible_at > ?1 AND receipt = '')
		FROM messages WHERE queue = ?2`, now, q.name).Scan(&s.Visible, &s.InFlight, &s.Delayed)
	if err != nil {
		return s, fmt.Errorf("stats of %s: %w", q.name, err)
	}
	return s, nil
}

// ReleaseInFlight makes every message of the queue that is hidden by a
// delivery visible at once. Call it at start: Open's lock proves the
// process that received them is gone, so nobody will acknowledge them.
func (q *Queue) ReleaseInFlight(ctx context.Context) (int, error) {
	var n int64
	err := q.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET visible_at = ? WHERE queue = ? AND receipt != '' AND visible_at > ?`,
			q.clock.Now().UnixNano(), q.name, q.clock.Now().UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release in-flight messages of %s: %w", q.name, err)
	}
	return int(n), nil
}

var _ ports.Queue = (*Queue)(nil)
