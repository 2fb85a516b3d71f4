package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gasproject/gas/ports"
)

// Topic is a ports.Publisher that fans each message out to every
// subscribed queue, like an SNS topic with raw-delivery SQS
// subscriptions. All copies are written in one transaction, so a crash
// never leaves one subscriber with the message and another without.
type Topic struct {
	name string
	db   *DB
	subs []*Queue
}

// NewTopic makes a topic in db delivering to subscribers, which must be
// queues of the same database.
func NewTopic(db *DB, name string, subscribers ...*Queue) (*Topic, error) {
	if db == nil || name == "" {
		return nil, fmt.Errorf("sqlite topic %q: a database and a name are required", name)
	}
	for _, q := range subscribers {
		if q == nil || q.db != db {
			return nil, fmt.Errorf("sqlite topic %s: subscribers must be queues of its database", name)
		}
	}
	return &Topic{name: name, db: db, subs: subscribers}, nil
}

// Publish sends body to every subscriber.
func (t *Topic) Publish(ctx context.Context, body []byte) error {
	err := t.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range t.subs {
			if err := q.insert(ctx, tx, ports.Outgoing{Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", t.name, err)
	}
	for _, q := range t.subs {
		q.notify()
	}
	return nil
}

var _ ports.Publisher = (*Topic)(nil)
