package workers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Dispatcher is the fair-share front of the annotate queue (ARCHITECTURE.md,
// Fair share): the runner's slots take their deliveries from it rather than
// straight from the queue. Every delivery waits in its user's line of a
// domain.FairQueue; users take turns, and none runs more jobs at once than
// their plan's cap (domain.Policy.InFlightCap for the pool's slots), so a
// light user's job starts at once whatever a heavy user has queued.
//
// Deliveries whose user is at the cap stay held, in flight on the queue
// and kept invisible, until a turn comes; at most Config.Lookahead of them,
// beyond which the slots wait for a job to end instead of receiving. Each
// slot receives one message at a time, and polls the queue before it
// starts held work, so a queue that is draining for shutdown parks the slot
// (role.DrainQueue) before it starts anything new; held deliveries are
// released at once when the dispatcher stops. On AWS each annotator's
// dispatcher shares out its own slots; SQS's fair queue (the message group
// is the user) shares out the fleet.
type Dispatcher struct {
	queue ports.Queue
	users ports.UserStore
	cfg   Config
	log   *slog.Logger

	mu      sync.Mutex
	fair    *domain.FairQueue[ports.Message]
	changed chan struct{} // closed and replaced whenever a job ends
	slots   int           // the pool shared out (cfg.Concurrency, or an elastic pool's size)
}

// Turn is one delivery the dispatcher handed out: its user's job may run.
type Turn struct {
	User     domain.UserID
	Delivery ports.Message
}

// NewDispatcher shares out queue's deliveries among cfg.Concurrency slots,
// reading each user's plan from users.
func NewDispatcher(queue ports.Queue, users ports.UserStore, cfg Config) (*Dispatcher, error) {
	if queue == nil || users == nil {
		return nil, fmt.Errorf("%w: the dispatcher needs its queue and the user store", ErrConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Dispatcher{queue: queue, users: users, cfg: cfg, log: cfg.Logger.With("worker", "dispatch"),
		fair: domain.NewFairQueue[ports.Message](), changed: make(chan struct{}), slots: cfg.Concurrency}, nil
}

// Resize tells the dispatcher how many slots it shares out now (an
// elastic pool grew or shrank); caps follow from the next delivery of
// each user on.
func (d *Dispatcher) Resize(slots int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.slots = max(slots, 1)
}

// Fetch receives at most one delivery, waiting up to wait, into its
// user's line. A redelivery of a message already waiting (its visibility
// lapsed) takes the old delivery's place.
func (d *Dispatcher) Fetch(ctx context.Context, wait time.Duration) error {
	ms, err := d.queue.Receive(ctx, 1, d.cfg.Visibility, wait)
	if err != nil {
		return err
	}
	for _, m := range ms {
		user := d.userOf(m)
		limit := d.capOf(ctx, user)
		d.mu.Lock()
		if !d.fair.Replace(user, m, func(a, b ports.Message) bool { return a.ID == b.ID }) {
			d.fair.Add(user, limit, m)
		}
		d.mu.Unlock()
	}
	return nil
}

// userOf is the user a delivery is for: its message group, else the user
// its body names ("" for a body without one, which the runner drops).
func (d *Dispatcher) userOf(m ports.Message) domain.UserID {
	if m.Group != "" {
		return domain.UserID(m.Group)
	}
	b, err := message.Decode(m.Body)
	if err != nil {
		return ""
	}
	return b.User
}

// capOf is user's in-flight cap now: their plan's, free when the plan
// cannot be read (the runner's claim reports a store that is down).
func (d *Dispatcher) capOf(ctx context.Context, user domain.UserID) int {
	tier := domain.TierFree
	if user != "" {
		if u, err := d.users.Get(ctx, user); err == nil {
			tier = u.Tier()
		}
	}
	d.mu.Lock()
	slots := d.slots
	d.mu.Unlock()
	return d.cfg.Policy.InFlightCap(tier, slots)
}

// Next hands out the next turn by the fair-share rules, if anybody may
// start; its job counts in flight until Done.
func (d *Dispatcher) Next() (Turn, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, m, ok := d.fair.Next()
	return Turn{User: u, Delivery: m}, ok
}

// Done ends turn t's job.
func (d *Dispatcher) Done(t Turn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fair.Done(t.User)
	close(d.changed)
	d.changed = make(chan struct{})
}

// Held is how many deliveries wait in the users' lines.
func (d *Dispatcher) Held() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fair.Queued()
}

// Lines reports every user's line: queued, in flight and cap.
func (d *Dispatcher) Lines() []domain.Line {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fair.Lines()
}

// Run serves cfg.Concurrency slots until ctx is cancelled: each takes its
// turn and hands the delivery to handle. Deliveries still held then are
// made visible again at once, for another instance.
func (d *Dispatcher) Run(ctx context.Context, handle func(context.Context, ports.Message) error) error {
	stop := d.KeepHeld(ctx)
	var wg sync.WaitGroup
	for range d.cfg.Concurrency {
		wg.Go(func() { d.slot(ctx, handle) })
	}
	wg.Wait()
	stop()
	d.Release(context.WithoutCancel(ctx))
	return nil
}

// Take is one slot's wait for its next turn: it receives at most one
// delivery into its user's line (waiting up to the configured wait; only
// polling when a held delivery may start, so that a draining queue parks
// the slot before it starts anything new) and hands out the next turn. ok
// is false when nobody may start yet; the caller asks again. A receive
// error is returned after its back-off.
func (d *Dispatcher) Take(ctx context.Context) (t Turn, ok bool, err error) {
	d.mu.Lock()
	ready, held, changed := d.fair.Ready(), d.fair.Queued(), d.changed
	d.mu.Unlock()
	if !ready && held >= d.cfg.Lookahead {
		// Everything held is for users at their cap: wait for a job to end.
		select {
		case <-ctx.Done():
		case <-changed:
		case <-time.After(d.cfg.Wait):
		}
		return Turn{}, false, nil
	}
	wait := d.cfg.Wait
	if ready {
		wait = 0
	}
	if err := d.Fetch(ctx, wait); err != nil {
		if ctx.Err() == nil {
			d.log.ErrorContext(ctx, "receive failed", "err", err)
			sleep(ctx, d.cfg.RetryDelay)
		}
		return Turn{}, false, err
	}
	t, ok = d.Next()
	return t, ok, nil
}

func (d *Dispatcher) slot(ctx context.Context, handle func(context.Context, ports.Message) error) {
	for ctx.Err() == nil {
		t, ok, _ := d.Take(ctx)
		if !ok {
			continue
		}
		if err := handle(ctx, t.Delivery); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "message not done; it will be delivered again", "message", t.Delivery.ID,
				"receives", t.Delivery.Receives, "err", err)
		}
		d.Done(t)
	}
}

// KeepHeld extends the visibility of every held delivery each heartbeat
// until the returned stop is called, so a backlog waiting for its turn is
// not handed to another instance meanwhile.
func (d *Dispatcher) KeepHeld(ctx context.Context) (stop func()) {
	return every(ctx, d.cfg.Heartbeat, d.keepHeld)
}

func (d *Dispatcher) keepHeld(ctx context.Context) {
	d.mu.Lock()
	held := d.fair.Waiting()
	d.mu.Unlock()
	for _, m := range held {
		if err := d.queue.ExtendVisibility(ctx, m.Receipt, d.cfg.Visibility); err != nil && ctx.Err() == nil {
			d.log.DebugContext(ctx, "could not keep a held delivery hidden", "message", m.ID, "err", err)
		}
	}
}

// Release makes every held delivery visible again at once (on shutdown).
func (d *Dispatcher) Release(ctx context.Context) {
	d.mu.Lock()
	held := d.fair.Drain()
	d.mu.Unlock()
	for _, m := range held {
		if err := d.queue.ExtendVisibility(ctx, m.Receipt, 0); err != nil {
			d.log.WarnContext(ctx, "could not release a held delivery", "message", m.ID, "err", err)
		}
	}
}
