package contract

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gasproject/gas/ports"
)

// PublisherFixture is a topic under test and the queues subscribed to it.
type PublisherFixture struct {
	Publisher ports.Publisher
	// Subscribers each get every message published (raw delivery: the body
	// as published, no envelope).
	Subscribers []ports.Queue
}

// TestPublisher checks a ports.Publisher fans every message out, body
// intact, exactly once to each subscribed queue. newTopic makes a fresh
// topic with the given number of fresh subscribed queues.
func TestPublisher(t *testing.T, newTopic func(t *testing.T, subscribers int) PublisherFixture) {
	t.Run("FansOutToEverySubscriber", func(t *testing.T) {
		fx, ctx := newTopic(t, 3), ctxFor(t)
		if len(fx.Subscribers) != 3 {
			t.Fatalf("fixture made %d subscribers, want 3", len(fx.Subscribers))
		}
		var want []string
		for i := range 4 {
			b := fmt.Sprintf(`{"event":"job.completed","job":"j-%d","note":"ü"}`, i)
			want = append(want, b)
			must(t, fx.Publisher.Publish(ctx, []byte(b)))
		}
		slices.Sort(want)
		for qi, q := range fx.Subscribers {
			var got []string
			for range 20 {
				ms, err := q.Receive(ctx, 10, 30*time.Second, 2*time.Second)
				must(t, err)
				for _, m := range ms {
					got = append(got, string(m.Body))
					must(t, q.Delete(ctx, m.Receipt))
				}
				if len(got) >= len(want) {
					break
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("subscriber %d received %q, want each of %q once", qi, got, want)
			}
			expectEmpty(t, q, fmt.Sprintf("subscriber %d after all deliveries", qi))
		}
	})
	t.Run("NoSubscribersIsNotAnError", func(t *testing.T) {
		fx, ctx := newTopic(t, 0), ctxFor(t)
		must(t, fx.Publisher.Publish(ctx, []byte("nobody listens")))
	})
}
