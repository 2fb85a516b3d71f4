package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// consumer is the one receive/handle/acknowledge loop every worker runs.
type consumer struct {
	name    string
	queue   ports.Queue
	clock   ports.Clock
	cfg     Config
	log     *slog.Logger
	kinds   []message.Kind
	process func(ctx context.Context, m message.Body, d ports.Message) error
}

// retryLater asks the consumer to make a delivery visible again after a
// chosen delay rather than the default backoff.
type retryLater struct {
	err   error
	after time.Duration
}

func (r *retryLater) Error() string { return r.err.Error() }
func (r *retryLater) Unwrap() error { return r.err }

// run loops until ctx is cancelled with cfg.Concurrency receivers, and
// returns nil on that clean shutdown.
func (c *consumer) run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Go(func() { c.loop(ctx) })
	}
	wg.Wait()
	return nil
}

func (c *consumer) loop(ctx context.Context) {
	for ctx.Err() == nil {
		ds, err := c.queue.Receive(ctx, 1, c.cfg.Visibility, c.cfg.Wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.ErrorContext(ctx, "receive failed", "err", err)
			sleep(ctx, c.cfg.RetryDelay)
			continue
		}
		for _, d := range ds {
			if err := c.handle(ctx, d); err != nil && ctx.Err() == nil {
				c.log.WarnContext(ctx, "message not done; it will be delivered again", "message", d.ID, "receives", d.Receives, "err", err)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle is one delivery: decode, re-delay if early, process while keeping
// the delivery invisible, then settle it. A nil return means acknowledged.
func (c *consumer) handle(ctx context.Context, d ports.Message) error {
	m, err := message.Decode(d.Body)
	if err == nil && !slices.Contains(c.kinds, m.Kind) {
		err = fmt.Errorf("%w: %s routed to the %s queue", message.ErrMalformed, m.Kind, c.name)
	}
	if err != nil {
		c.log.ErrorContext(ctx, "dropping unusable message", "message", d.ID, "err", err)
		return c.ack(ctx, d)
	}
	if now := c.clock.Now(); m.Early(now) {
		if err := message.Schedule(ctx, c.queue, m, now); err != nil {
			return c.settle(ctx, d, err)
		}
		return c.ack(ctx, d)
	}
	h := &holding{received: c.clock.Now()}
	stop := c.keepVisible(ctx, d, h)
	err = c.process(ctx, m, d)
	stop()
	if err != nil {
		err = fmt.Errorf("%s: %w", m, err)
	}
	if h.handedOver.Load() {
		return err // the copy carries the message on; this delivery is gone
	}
	return c.settle(ctx, d, err)
}

// holding is one delivery a worker holds: when it was received, and
// whether it was handed over to a copy (see handOver).
type holding struct {
	received   time.Time
	handedOver atomic.Bool
}

// settle acknowledges a delivery whose effects are durable (err == nil);
// otherwise it leaves the message for redelivery: at once when shutting
// down, after a backoff growing with the delivery count when failing.
func (c *consumer) settle(ctx context.Context, d ports.Message, err error) error {
	if err == nil {
		return c.ack(ctx, d)
	}
	delay := c.backoff(d.Receives)
	var later *retryLater
	switch {
	case ctx.Err() != nil:
		delay = 0 // shutting down: let another worker have it now
	case errors.As(err, &later):
		delay = later.after
	}
	if verr := c.queue.ExtendVisibility(context.WithoutCancel(ctx), d.Receipt, delay); verr != nil {
		c.log.WarnContext(ctx, "could not reschedule delivery", "message", d.ID, "err", verr)
	}
	return err
}

func (c *consumer) backoff(receives int) time.Duration {
	d := c.cfg.RetryDelay
	for i := 1; i < receives && d < message.MaxDelay; i++ {
		d *= 2
	}
	return min(d, message.MaxDelay)
}

func (c *consumer) ack(ctx context.Context, d ports.Message) error {
	if err := c.queue.Delete(context.WithoutCancel(ctx), d.Receipt); err != nil {
		return fmt.Errorf("acknowledge %s: %w", d.ID, err)
	}
	return nil
}

// keepVisible extends the delivery's visibility every heartbeat until the
// returned stop is called, so a long step is not handed to a second worker.
// An extension cut short because the step ended (stop) or the worker is
// shutting down is no failure: settling the delivery decides its visibility
// next. Only extensions that failed while the step still ran are logged.
//
// SQS hides one delivery for at most 12 hours from its receipt; past that
// an extension fails and the message reappears while the step still runs.
// So a delivery held for MaxHold is handed over instead (handOver).
func (c *consumer) keepVisible(ctx context.Context, d ports.Message, h *holding) (stop func()) {
	return every(ctx, c.cfg.Heartbeat, func(ctx context.Context) {
		if h.handedOver.Load() {
			return
		}
		if c.clock.Now().Sub(h.received) >= c.cfg.MaxHold {
			c.handOver(ctx, d, h)
			return
		}
		err := c.queue.ExtendVisibility(ctx, d.Receipt, c.cfg.Visibility)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			c.log.DebugContext(ctx, "visibility extension cut short: the step ended", "message", d.ID, "err", err)
		default:
			c.log.WarnContext(ctx, "could not extend visibility", "message", d.ID, "err", err)
		}
	})
}

// handOver replaces a delivery held for MaxHold by a fresh copy of its
// message, hidden for the visibility timeout, and deletes the delivery,
// while the step goes on. The copy has a 12-hour cap of its own and stands
// in for the step if its worker dies: delivered while the step still runs
// it finds the work in hand (the runner: the job's lease held, so it looks
// again when that lease would lapse), and after the step it finds the work
// done. The copy is sent first, so a crash in between duplicates the
// message rather than loses it.
func (c *consumer) handOver(ctx context.Context, d ports.Message, h *holding) {
	if err := c.queue.Send(ctx, ports.Outgoing{Body: d.Body, Delay: c.cfg.Visibility, Group: d.Group}); err != nil {
		c.log.WarnContext(ctx, "could not hand a long-held message over; trying again at the next heartbeat", "message", d.ID, "err", err)
		return
	}
	h.handedOver.Store(true)
	if err := c.queue.Delete(ctx, d.Receipt); err != nil {
		c.log.WarnContext(ctx, "long-held message handed over, but its delivery could not be deleted; it will be delivered again and found in hand",
			"message", d.ID, "err", err)
		return
	}
	c.log.InfoContext(ctx, "long-held message handed over to a fresh copy", "message", d.ID, "held", c.clock.Now().Sub(h.received).String())
}

// every runs f each interval (real time) until stop is called; stop waits
// for a running f to finish. A non-positive interval runs nothing.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
