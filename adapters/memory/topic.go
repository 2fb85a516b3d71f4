package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gasproject/gas/ports"
)

// Topic is a ports.Publisher that fans each message out to every
// subscribed queue, like an SNS topic with raw-delivery SQS subscriptions,
// so each consumer role gets its own copy and fails independently.
type Topic struct {
	name string
	mu   sync.RWMutex
	subs []ports.Queue
}

// NewTopic makes a topic named name with the given subscribers.
func NewTopic(name string, subscribers ...ports.Queue) (*Topic, error) {
	if name == "" {
		return nil, fmt.Errorf("memory topic: empty name")
	}
	t := &Topic{name: name}
	for _, q := range subscribers {
		if err := t.Subscribe(q); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Subscribe adds a queue that will receive every later publication.
func (t *Topic) Subscribe(q ports.Queue) error {
	if q == nil {
		return fmt.Errorf("subscribe to %s: nil queue", t.name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, q)
	return nil
}

// Publish sends body to every subscriber at once. Every subscriber is
// tried even if one fails; the failures are returned together.
func (t *Topic) Publish(ctx context.Context, body []byte) error {
	t.mu.RLock()
	subs := append([]ports.Queue(nil), t.subs...)
	t.mu.RUnlock()
	var errs []error
	for _, q := range subs {
		if err := q.Send(ctx, ports.Outgoing{Body: body}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish to %s: %w", t.name, err)
	}
	return nil
}

var _ ports.Publisher = (*Topic)(nil)
