package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/scaling"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
)

// The pool grows under a backlog to its maximum, never beyond, and shrinks
// back to its minimum once the queue is empty, finishing every job it
// took: none is interrupted by a scale-in.
func TestPoolGrowsUnderBacklogAndShrinksWhenIdle(t *testing.T) {
	q, err := memory.NewQueue("annotate", memory.NewSystemClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const jobs = 300
	for i := range jobs {
		if err := q.Send(ctx, ports.Outgoing{Body: []byte("job"), Group: fmt.Sprintf("user-%d", i%8)}); err != nil {
			t.Fatal(err)
		}
	}
	var done, interrupted, running, peak atomic.Int64
	handle := func(ctx context.Context, d ports.Message) error {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-time.After(15 * time.Millisecond):
		case <-ctx.Done():
			interrupted.Add(1)
			return ctx.Err()
		}
		done.Add(1)
		return q.Delete(context.WithoutCancel(ctx), d.Receipt)
	}
	p, err := New(q, dispatcher(t, q), handle, Config{Min: 1, Max: 4, Tick: 20 * time.Millisecond,
		AcceptableWait: 100 * time.Millisecond, InitialMeanJobTime: 15 * time.Millisecond,
		Visibility: time.Minute, Wait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	waitFor(t, "all jobs done", func() bool { return done.Load() == jobs })
	waitFor(t, "the pool back at its minimum", func() bool { return p.Status().Running == 1 })
	cancel()
	wg.Wait()
	st := p.Status()
	if peak.Load() != 4 || interrupted.Load() != 0 {
		t.Fatalf("peak %d annotators at once (want the maximum, 4), %d jobs interrupted", peak.Load(), interrupted.Load())
	}
	if len(st.Events) < 2 || st.Events[0].To != 1 || st.Events[len(st.Events)-1].From != 1 {
		t.Fatalf("resizes %+v: want growth from 1 first and a return to 1 last", st.Events)
	}
	for _, e := range st.Events {
		if e.To > 4 || e.To < 1 {
			t.Fatalf("resize outside the bounds: %+v", e)
		}
	}
}

func TestPoolRefusesBadBounds(t *testing.T) {
	q, _ := memory.NewQueue("annotate", memory.NewSystemClock())
	if _, err := New(q, dispatcher(t, q), nil, Config{Min: 3, Max: 2, AcceptableWait: time.Second}); !errors.Is(err, scaling.ErrInvalidRule) {
		t.Fatalf("min above max: %v", err)
	}
	if _, err := New(q, dispatcher(t, q), nil, Config{Min: 1, Max: 2}); !errors.Is(err, scaling.ErrInvalidRule) {
		t.Fatalf("no acceptable wait: %v", err)
	}
}

// dispatcher shares q's deliveries among the pool's loops by user.
func dispatcher(t *testing.T, q ports.Queue) *workers.Dispatcher {
	t.Helper()
	d, err := workers.NewDispatcher(q, memory.NewUserStore(), workers.Config{Policy: domain.DefaultPolicy(),
		Visibility: time.Minute, Wait: 50 * time.Millisecond, Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deliveries the dispatcher holds for a user at their cap are in flight
// on the queue but waiting: the pool counts them as backlog, so one
// user's queued jobs still make it grow.
func TestPoolCountsHeldDeliveriesAsBacklog(t *testing.T) {
	q, err := memory.NewQueue("annotate", memory.NewSystemClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for range 5 {
		if err := q.Send(ctx, ports.Outgoing{Body: []byte("job"), Group: "heavy"}); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	var running atomic.Int64
	handle := func(ctx context.Context, d ports.Message) error {
		running.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return q.Delete(context.WithoutCancel(ctx), d.Receipt)
	}
	p, err := New(q, dispatcher(t, q), handle, Config{Min: 2, Max: 2, Tick: 20 * time.Millisecond,
		AcceptableWait: time.Minute, InitialMeanJobTime: time.Second, Visibility: time.Minute, Wait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	waitFor(t, "the held backlog counted", func() bool { st := p.Status(); return st.Waiting == 4 && st.InFlight == 1 })
	if running.Load() != 1 {
		t.Fatalf("%d jobs of one user ran on a pool of 2, want 1 (the other loop kept for somebody else)", running.Load())
	}
	close(release)
	cancel()
	wg.Wait()
}
