package sqlite

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// OpenTopology opens topology t in db, wired as on AWS: each queue with its
// own dead-letter queue after the queue's MaxReceives deliveries, each
// topic fanning out to its subscribers in one transaction. Messages the
// database already holds are kept; those a previous process had received
// are released at once (Open's lock proves that process is gone), so
// queued work resumes as soon as the workers start.
func OpenTopology(ctx context.Context, db *DB, t message.Topology, clock ports.Clock) (*message.Bus, error) {
	o := &opener{db: db, clock: clock}
	bus, err := message.Open(t, o)
	if err != nil {
		return nil, err
	}
	released := 0
	for _, q := range o.opened {
		n, err := q.ReleaseInFlight(ctx)
		if err != nil {
			return nil, err
		}
		released += n
	}
	if released > 0 {
		slog.Info("messages in flight when the last process stopped are delivered again", "messages", released)
	}
	return bus, nil
}

// opener is message.Opener on SQLite queues and topics.
type opener struct {
	db     *DB
	clock  ports.Clock
	opened []*Queue
}

func (o *opener) DeadLetterQueue(q message.QueueSpec) (ports.Queue, error) {
	dlq, err := NewQueue(o.db, q.DeadLetter(), o.clock)
	if err == nil {
		o.opened = append(o.opened, dlq)
	}
	return dlq, err
}

func (o *opener) Queue(q message.QueueSpec, deadLetter ports.Queue) (ports.Queue, error) {
	dlq, ok := deadLetter.(*Queue)
	if !ok {
		return nil, fmt.Errorf("queue %s: dead-letter queue %T is not an SQLite queue", q.Name, deadLetter)
	}
	work, err := NewQueue(o.db, q.Name, o.clock, WithDeadLetter(dlq, q.MaxReceives))
	if err == nil {
		o.opened = append(o.opened, work)
	}
	return work, err
}

func (o *opener) Topic(p message.TopicSpec, subscribers []ports.Queue) (ports.Publisher, error) {
	subs := make([]*Queue, len(subscribers))
	for i, s := range subscribers {
		q, ok := s.(*Queue)
		if !ok {
			return nil, fmt.Errorf("topic %s: subscriber %T is not an SQLite queue", p.Name, s)
		}
		subs[i] = q
	}
	return NewTopic(o.db, p.Name, subs...)
}

func (o *opener) Parked(name string) (ports.Queue, error) {
	q, err := NewQueue(o.db, name, o.clock)
	if err == nil {
		o.opened = append(o.opened, q)
	}
	return q, err
}
