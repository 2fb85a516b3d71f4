package contract

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/ports"
)

// QueueFixture is one queue under test, its dead-letter queue, and the
// queue's time.
type QueueFixture struct {
	Queue ports.Queue
	// DeadLetters receives messages Queue gave up on after the factory's
	// maxReceives deliveries.
	DeadLetters ports.Queue
	// Sleep lets d of the queue's time pass: advance a fake clock, or
	// time.Sleep for real-time adapters.
	Sleep func(d time.Duration)
}

// TestQueue checks a ports.Queue with SQS semantics: delivery and
// acknowledgement, delays, visibility timeouts and redelivery with a
// receive count, visibility extension and release, dead-lettering after
// maxReceives deliveries, long polling that wakes on send, and statistics.
// newQueue makes a fresh, empty queue whose dead-letter queue takes a
// message once it has been received maxReceives times. Subtests run in
// parallel, each with its own queue; every duration is whole seconds.
func TestQueue(t *testing.T, newQueue func(t *testing.T, maxReceives int) QueueFixture) {
	const long = 30 * time.Second // a visibility that outlasts any subtest
	t.Run("SendReceiveDelete", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		body := []byte(`{"job":"j-1","note":"ünïcode ✓"}`)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: body}))
		m := receiveOne(t, fx.Queue, 2*time.Second)
		if string(m.Body) != string(body) || m.Receives != 1 || m.ID == "" || m.Receipt == "" {
			t.Fatalf("received %+v, want body %s on first delivery with id and receipt", m, body)
		}
		must(t, fx.Queue.Delete(ctx, m.Receipt))
		must(t, fx.Queue.Delete(ctx, m.Receipt)) // acknowledging twice is harmless
		fx.Sleep(3 * time.Second)
		expectEmpty(t, fx.Queue, "after delete")
		expectStats(t, fx.Queue, ports.QueueStats{})
	})
	t.Run("ReceiveBatchesAndDeliversOnce", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		want := make([]string, 7)
		for i := range want {
			want[i] = fmt.Sprintf("msg-%d", i)
			must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte(want[i])}))
		}
		var got []string
		for range 20 {
			ms, err := fx.Queue.Receive(ctx, 3, long, time.Second)
			must(t, err)
			if len(ms) > 3 {
				t.Fatalf("Receive(max 3) returned %d messages", len(ms))
			}
			for _, m := range ms {
				got = append(got, string(m.Body))
			}
			if len(got) >= len(want) {
				break
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("received %v, want each of %v exactly once", got, want)
		}
		expectEmpty(t, fx.Queue, "all in flight")
	})
	t.Run("ConcurrentReceiversNeverShare", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		const n = 30
		for i := range n {
			must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte(fmt.Sprintf("m%02d", i))}))
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					mu.Lock()
					done := len(seen) >= n
					mu.Unlock()
					if done {
						return
					}
					ms, err := fx.Queue.Receive(ctx, 10, long, 0)
					if err != nil {
						t.Errorf("receive: %v", err)
						return
					}
					if len(ms) == 0 {
						time.Sleep(20 * time.Millisecond)
					}
					mu.Lock()
					for _, m := range ms {
						seen[string(m.Body)]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for b, c := range seen {
			if c != 1 {
				t.Errorf("%s delivered %d times within its visibility timeout", b, c)
			}
		}
		if len(seen) != n {
			t.Fatalf("%d of %d messages received", len(seen), n)
		}
	})
	t.Run("DelayHidesUntilDue", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("later"), Delay: 2 * time.Second}))
		expectEmpty(t, fx.Queue, "before the delay")
		expectStats(t, fx.Queue, ports.QueueStats{Delayed: 1})
		fx.Sleep(2 * time.Second)
		m := receiveOne(t, fx.Queue, 3*time.Second)
		if string(m.Body) != "later" || m.Receives != 1 {
			t.Fatalf("got %+v", m)
		}
	})
	t.Run("VisibilityTimeoutRedelivers", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("work")}))
		first := receiveOneVis(t, fx.Queue, 2*time.Second, 2*time.Second)
		expectEmpty(t, fx.Queue, "while in flight")
		expectStats(t, fx.Queue, ports.QueueStats{InFlight: 1})
		fx.Sleep(2 * time.Second)
		second := receiveOneVis(t, fx.Queue, long, 3*time.Second)
		if second.ID != first.ID || string(second.Body) != "work" || second.Receives != 2 || second.Receipt == first.Receipt {
			t.Fatalf("redelivery %+v of %+v: want same id and body, Receives 2, a new receipt", second, first)
		}
		must(t, fx.Queue.Delete(ctx, second.Receipt))
		expectStats(t, fx.Queue, ports.QueueStats{})
	})
	t.Run("ExtendVisibilityKeepsHidden", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("long job")}))
		m := receiveOneVis(t, fx.Queue, 1*time.Second, 2*time.Second)
		must(t, fx.Queue.ExtendVisibility(ctx, m.Receipt, 4*time.Second))
		fx.Sleep(2 * time.Second) // past the original timeout, inside the extension
		expectEmpty(t, fx.Queue, "after extending visibility")
		must(t, fx.Queue.ExtendVisibility(ctx, m.Receipt, 0)) // release now
		again := receiveOne(t, fx.Queue, 3*time.Second)
		if again.ID != m.ID || again.Receives != 2 {
			t.Fatalf("after release got %+v, want %s on its second delivery", again, m.ID)
		}
	})
	t.Run("DeadLetterAfterMaxReceives", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 2), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("poison")}))
		for i := 1; i <= 2; i++ {
			m := receiveOne(t, fx.Queue, 3*time.Second)
			if m.Receives != i || string(m.Body) != "poison" {
				t.Fatalf("delivery %d: %+v", i, m)
			}
			must(t, fx.Queue.ExtendVisibility(ctx, m.Receipt, 0))
		}
		// The third receive must not deliver it: it moves to the dead-letter queue.
		ms, err := fx.Queue.Receive(ctx, 10, long, 0)
		must(t, err)
		if len(ms) != 0 {
			t.Fatalf("message delivered a third time (Receives %d) despite maxReceives 2", ms[0].Receives)
		}
		dead := receiveOne(t, fx.DeadLetters, 5*time.Second)
		if string(dead.Body) != "poison" || dead.Receives < 1 {
			t.Fatalf("dead letter %+v", dead)
		}
		must(t, fx.DeadLetters.Delete(ctx, dead.Receipt))
		expectStats(t, fx.Queue, ports.QueueStats{})
	})
	t.Run("LongPollWakesOnSend", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		type result struct {
			ms  []ports.Message
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			ms, err := fx.Queue.Receive(ctx, 1, long, 15*time.Second)
			done <- result{ms, err, time.Now()}
		}()
		time.Sleep(300 * time.Millisecond)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("wake up")}))
		select {
		case r := <-done:
			if r.err != nil || len(r.ms) != 1 || string(r.ms[0].Body) != "wake up" {
				t.Fatalf("long poll returned %v, %v", r.ms, r.err)
			}
			if took := r.at.Sub(start); took > 10*time.Second {
				t.Fatalf("long poll took %s to see a sent message", took)
			}
		case <-time.After(opTimeout):
			t.Fatalf("long poll never returned")
		}
	})
	t.Run("LongPollTimesOutEmpty", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		type result struct {
			ms  []ports.Message
			err error
		}
		done := make(chan result, 1)
		go func() {
			ms, err := fx.Queue.Receive(ctx, 1, long, time.Second)
			done <- result{ms, err}
		}()
		// Let the queue's time pass until the wait ends (a fake clock needs
		// pushing; a real one just passes).
		for i := 0; ; i++ {
			select {
			case r := <-done:
				if r.err != nil || len(r.ms) != 0 {
					t.Fatalf("empty long poll returned %v, %v; want no messages and no error", r.ms, r.err)
				}
				return
			case <-time.After(50 * time.Millisecond):
			}
			if i > 400 {
				t.Fatalf("a 1 s long poll on an empty queue did not return")
			}
			fx.Sleep(250 * time.Millisecond)
		}
	})
	t.Run("ReceiveHonoursCancellation", func(t *testing.T) {
		t.Parallel()
		fx := newQueue(t, 5)
		ctx, cancel := context.WithCancel(ctxFor(t))
		done := make(chan error, 1)
		go func() {
			_, err := fx.Queue.Receive(ctx, 1, long, 20*time.Second)
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("cancelled Receive returned no error")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Receive ignored its context's cancellation")
		}
	})
	t.Run("Stats", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("a")}))
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("b")}))
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("c")}))
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("d"), Delay: 20 * time.Second}))
		expectStats(t, fx.Queue, ports.QueueStats{Visible: 3, Delayed: 1})
		m := receiveOne(t, fx.Queue, 2*time.Second)
		expectStats(t, fx.Queue, ports.QueueStats{Visible: 2, InFlight: 1, Delayed: 1})
		must(t, fx.Queue.Delete(ctx, m.Receipt))
		expectStats(t, fx.Queue, ports.QueueStats{Visible: 2, Delayed: 1})
	})
	t.Run("GroupTravelsWithTheMessage", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 1), ctxFor(t)
		groups := []string{"user-1@example.org", "", "ſam@example.org 100%"}
		for i, g := range groups {
			must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte(fmt.Sprintf("m%d", i)), Group: g}))
		}
		got := map[string]string{}
		for range groups {
			m := receiveOne(t, fx.Queue, 3*time.Second)
			got[string(m.Body)] = m.Group
			must(t, fx.Queue.ExtendVisibility(ctx, m.Receipt, 0))
		}
		for i, g := range groups {
			if b := fmt.Sprintf("m%d", i); got[b] != g {
				t.Errorf("%s delivered in group %q, sent in %q", b, got[b], g)
			}
		}
		// A message given up on keeps its group in the dead-letter queue.
		for range 10 {
			if ms, err := fx.Queue.Receive(ctx, 10, long, 0); err != nil || len(ms) != 0 {
				t.Fatalf("redelivered past maxReceives: %v %v", ms, err)
			}
			if st, err := fx.DeadLetters.Stats(ctx); err == nil && st.Visible == len(groups) {
				break
			}
			fx.Sleep(time.Second)
		}
		for range groups {
			m := receiveOne(t, fx.DeadLetters, 3*time.Second)
			if b := string(m.Body); m.Group != got[b] {
				t.Errorf("dead letter %s in group %q, sent in %q", b, m.Group, got[b])
			}
		}
	})
	t.Run("StaleExtendIsRefused", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newQueue(t, 5), ctxFor(t)
		must(t, fx.Queue.Send(ctx, ports.Outgoing{Body: []byte("x")}))
		m := receiveOne(t, fx.Queue, 2*time.Second)
		must(t, fx.Queue.Delete(ctx, m.Receipt))
		if err := fx.Queue.ExtendVisibility(ctx, m.Receipt, 10*time.Second); err == nil {
			t.Fatalf("extending the visibility of a deleted message succeeded")
		}
	})
}

// receiveOne long-polls for exactly one message with a long visibility.
func receiveOne(t *testing.T, q ports.Queue, wait time.Duration) ports.Message {
	t.Helper()
	return receiveOneVis(t, q, 30*time.Second, wait)
}

func receiveOneVis(t *testing.T, q ports.Queue, visibility, wait time.Duration) ports.Message {
	t.Helper()
	ms, err := q.Receive(ctxFor(t), 1, visibility, wait)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(ms) != 1 {
		t.Fatalf("received %d messages, want 1", len(ms))
	}
	return ms[0]
}

// expectEmpty checks with a short poll (wait 0) that nothing is receivable
// now. A short poll never blocks, so it is safe with a fake clock; moto and
// the memory queue answer it exactly.
func expectEmpty(t *testing.T, q ports.Queue, when string) {
	t.Helper()
	ms, err := q.Receive(ctxFor(t), 10, 30*time.Second, 0)
	if err != nil {
		t.Fatalf("receive %s: %v", when, err)
	}
	if len(ms) != 0 {
		t.Fatalf("%s: received %d messages (first %q, Receives %d), want none", when, len(ms), ms[0].Body, ms[0].Receives)
	}
}

func expectStats(t *testing.T, q ports.Queue, want ports.QueueStats) {
	t.Helper()
	eventually(t, 5*time.Second, "queue stats", func() (bool, string) {
		got, err := q.Stats(ctxFor(t))
		if err != nil {
			return false, err.Error()
		}
		return got == want, fmt.Sprintf("got %+v, want %+v", got, want)
	})
}
