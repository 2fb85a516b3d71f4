package role

import (
	"context"
	"sync"
	"time"

	"github.com/gasproject/gas/ports"
)

// DrainQueue wraps the queue a worker consumes so shutdown can stop it
// taking new messages without interrupting the one it is working on.
//
// The pipeline's consumer loops receive → handle → receive on each of its
// goroutines. Once Drain is called, a goroutine coming back for more work
// parks instead (it waits for the worker's context to end), and a receive
// already waiting on the server is let finish — cutting a long poll short
// does not stop SQS from handing it a message, which would then stay
// invisible for a whole visibility timeout — and anything it got is made
// visible again at once. When every goroutine is parked the worker has
// finished its in-flight work: Drained is closed. Everything else passes
// through.
type DrainQueue struct {
	ports.Queue
	receivers int

	mu       sync.Mutex
	parked   int
	draining bool
	drained  chan struct{} // closed once draining and every receiver parked
}

// NewDrainQueue wraps q for a worker running receivers goroutines
// (workers.Config.Concurrency).
func NewDrainQueue(q ports.Queue, receivers int) *DrainQueue {
	if receivers < 1 {
		receivers = 1
	}
	return &DrainQueue{Queue: q, receivers: receivers, drained: make(chan struct{})}
}

// Resize tells the queue how many receivers its worker now runs: an
// elastic pool (apps/internal/pool) grows and shrinks, and the drain is
// complete only when every receiver it still runs has parked.
func (d *DrainQueue) Resize(receivers int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receivers = max(0, receivers)
	d.check()
}

// Drain stops new work; it is idempotent.
func (d *DrainQueue) Drain() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.draining = true
	d.check()
}

// Drained is closed once Drain was called and no work is in flight.
func (d *DrainQueue) Drained() <-chan struct{} { return d.drained }

// check closes drained when due; d.mu must be held.
func (d *DrainQueue) check() {
	if d.draining && d.parked >= d.receivers {
		select {
		case <-d.drained:
		default:
			close(d.drained)
		}
	}
}

func (d *DrainQueue) isDraining() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.draining
}

// Receive receives as the wrapped queue does until Drain; from then on it
// hands back what it got and parks until ctx ends.
func (d *DrainQueue) Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]ports.Message, error) {
	if d.isDraining() {
		return d.park(ctx)
	}
	ms, err := d.Queue.Receive(ctx, max, visibility, wait)
	if d.isDraining() && ctx.Err() == nil {
		for _, m := range ms {
			// Not started: another instance may take it now.
			_ = d.Queue.ExtendVisibility(context.WithoutCancel(ctx), m.Receipt, 0)
		}
		return d.park(ctx)
	}
	return ms, err
}

// park waits, idle, for the worker's context to end.
func (d *DrainQueue) park(ctx context.Context) ([]ports.Message, error) {
	d.mu.Lock()
	d.parked++
	d.check()
	d.mu.Unlock()
	<-ctx.Done()
	d.mu.Lock()
	d.parked--
	d.mu.Unlock()
	return nil, ctx.Err()
}
