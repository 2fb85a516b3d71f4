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
// goroutines; a goroutine waiting in Receive is idle. Once Drain is called,
// receives in progress are cut short (anything they still got is made
// visible again at once) and new ones wait for the worker's context to end,
// so when every goroutine is back in Receive the worker has finished its
// in-flight work: Drained is closed. Everything else passes through.
type DrainQueue struct {
	ports.Queue
	receivers int

	mu       sync.Mutex
	idle     int
	draining bool
	stop     chan struct{} // closed by Drain
	drained  chan struct{} // closed once draining and idle
}

// NewDrainQueue wraps q for a worker running receivers goroutines
// (pipeline.Config.Concurrency).
func NewDrainQueue(q ports.Queue, receivers int) *DrainQueue {
	if receivers < 1 {
		receivers = 1
	}
	return &DrainQueue{Queue: q, receivers: receivers, stop: make(chan struct{}), drained: make(chan struct{})}
}

// Drain stops new work; it is idempotent.
func (d *DrainQueue) Drain() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return
	}
	d.draining = true
	close(d.stop)
	d.check()
}

// Drained is closed once Drain was called and no work is in flight.
func (d *DrainQueue) Drained() <-chan struct{} { return d.drained }

// check closes drained when due; d.mu must be held.
func (d *DrainQueue) check() {
	if d.draining && d.idle >= d.receivers {
		select {
		case <-d.drained:
		default:
			close(d.drained)
		}
	}
}

func (d *DrainQueue) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idle++
	d.check()
	return d.draining
}

func (d *DrainQueue) leave() {
	d.mu.Lock()
	d.idle--
	d.mu.Unlock()
}

func (d *DrainQueue) isDraining() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.draining
}

// Receive receives as the wrapped queue does until Drain; from then on it
// hands back what it got and waits for ctx to end.
func (d *DrainQueue) Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]ports.Message, error) {
	if d.enter() {
		return d.parked(ctx)
	}
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-rctx.Done():
		}
	}()
	ms, err := d.Queue.Receive(rctx, max, visibility, wait)
	cancel()
	if d.isDraining() {
		for _, m := range ms {
			// Not started: another instance may have it now.
			_ = d.Queue.ExtendVisibility(context.WithoutCancel(ctx), m.Receipt, 0)
		}
		return d.parked(ctx)
	}
	d.leave()
	return ms, err
}

// parked waits, idle, for the worker's context to end.
func (d *DrainQueue) parked(ctx context.Context) ([]ports.Message, error) {
	defer d.leave()
	<-ctx.Done()
	return nil, ctx.Err()
}
