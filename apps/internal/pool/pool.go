// Package pool is local mode's elastic annotator pool: between a minimum
// and a maximum of annotator loops on the annotation queue, resized once a
// tick by domain/scaling's target tracking, the rules the deployment's
// annotator group follows on AWS.
package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gasproject/gas/domain/scaling"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
)

// Config sizes local mode's elastic annotator pool.
type Config struct {
	Min, Max int
	// Tick is one CloudWatch minute of the pool's clock: the rules of
	// domain/scaling count datapoints, and local mode may count them
	// faster than AWS does (tests, demos). Default one minute.
	Tick time.Duration
	// AcceptableWait sets the backlog target (acceptable wait ÷ mean job
	// time, the mean measured as jobs run).
	AcceptableWait     time.Duration
	Visibility, Wait   time.Duration
	Logger             *slog.Logger
	InitialMeanJobTime time.Duration
}

// Source is where the loops take their turns: the annotator runner's
// fair-share dispatcher (workers.Dispatcher), which shares the loops out
// among users and is told how many there are.
type Source interface {
	Take(ctx context.Context) (workers.Turn, bool, error)
	Done(workers.Turn)
	Resize(slots int)
	KeepHeld(ctx context.Context) (stop func())
	Release(ctx context.Context)
	// Held is how many deliveries wait for their user's turn: received
	// (in flight on the queue) but waiting, so the pool counts them as
	// backlog.
	Held() int
}

// Pool runs between Min and Max annotator loops on the
// annotation queue and resizes itself once a tick by the same target
// tracking rules the deployment's annotator group uses.
type Pool struct {
	cfg    Config
	queue  ports.Queue
	src    Source
	handle func(context.Context, ports.Message) error
	group  *scaling.Group

	mu      sync.Mutex
	slots   []*slot
	metrics scaling.Metrics
	now     time.Time // the pool's CloudWatch clock, one minute per tick
	events  []Event
	meanJob time.Duration
	last    ports.QueueStats
	runCtx  context.Context
	wg      sync.WaitGroup
}

// slot is one annotator loop.
type slot struct {
	quit   atomic.Bool
	busy   atomic.Bool
	cancel context.CancelFunc // interrupts the slot's long poll, not its job
}

// maxEvents bounds the activity history the status page shows.
const maxEvents = 20

// New is a pool on q whose loops take their turns from src and pass each
// delivery to handle (an annotator runner's Dispatcher and Handle).
func New(q ports.Queue, src Source, handle func(context.Context, ports.Message) error, cfg Config) (*Pool, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = scaling.Resolution
	}
	if cfg.InitialMeanJobTime <= 0 {
		cfg.InitialMeanJobTime = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g, err := scaling.NewGroup(cfg.Min, cfg.Max, cfg.Min)
	if err != nil {
		return nil, fmt.Errorf("annotator pool: %w", err)
	}
	if _, err := scaling.AnnotatorBacklogTarget(cfg.AcceptableWait, cfg.InitialMeanJobTime); err != nil {
		return nil, fmt.Errorf("annotator pool: %w", err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := scaling.Metrics{}
	for _, k := range []scaling.Metric{scaling.MessagesVisible, scaling.MessagesInFlight, scaling.InService} {
		m[k] = scaling.NewSeries(now)
	}
	return &Pool{cfg: cfg, queue: q, src: src, handle: handle, group: g, metrics: m, now: now, meanJob: cfg.InitialMeanJobTime}, nil
}

// Run starts the minimum and resizes every tick until ctx ends, then
// waits for the loops (each finishes or releases its job) and gives back
// the deliveries still held for their turn.
func (p *Pool) Run(ctx context.Context) error {
	p.mu.Lock()
	p.runCtx = ctx
	p.resizeLocked()
	p.mu.Unlock()
	stop := p.src.KeepHeld(ctx)
	t := time.NewTicker(p.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.wg.Wait()
			stop()
			p.src.Release(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
			p.tick(ctx)
		}
	}
}

// tick samples the queue for the minute that just ended and lets the
// policy act on it.
func (p *Pool) tick(ctx context.Context) {
	st, err := p.queue.Stats(ctx)
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "annotator pool: queue stats", "err", err)
		return
	}
	held := p.src.Held() // waiting for a turn, though in flight on the queue
	st.Visible, st.InFlight = st.Visible+held, max(st.InFlight-held, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.now.Add(scaling.Resolution - time.Nanosecond)
	p.now = p.now.Add(scaling.Resolution)
	p.last = st
	p.metrics[scaling.MessagesVisible].Add(at, float64(st.Visible))
	p.metrics[scaling.MessagesInFlight].Add(at, float64(st.InFlight))
	p.metrics[scaling.InService].Add(at, float64(p.runningLocked()))
	pol, err := scaling.TargetTrackingAnnotator(p.cfg.AcceptableWait, p.meanJob)
	if err != nil {
		return
	}
	c := scaling.Capacity{Desired: p.group.Desired(), InService: p.runningLocked()}
	for _, d := range pol.Decide(p.now, p.metrics, c) {
		a, err := p.group.Apply(p.now, d)
		if err != nil {
			continue
		}
		p.record(a)
		p.resizeLocked()
	}
}

func (p *Pool) record(a scaling.Activity) {
	p.events = append(p.events, Event{At: time.Now(), From: a.From, To: a.To, Rule: a.Rule})
	if len(p.events) > maxEvents {
		p.events = p.events[len(p.events)-maxEvents:]
	}
	p.cfg.Logger.Info("annotator pool resized", "from", a.From, "to", a.To, "rule", a.Rule)
}

func (p *Pool) runningLocked() int {
	n := 0
	for _, s := range p.slots {
		if !s.quit.Load() {
			n++
		}
	}
	return n
}

// resizeLocked starts or stops loops to match the desired capacity,
// stopping idle loops before busy ones; a busy loop finishes its job.
func (p *Pool) resizeLocked() {
	for p.runningLocked() < p.group.Desired() {
		p.start()
	}
	for p.runningLocked() > p.group.Desired() {
		p.stopOne()
	}
}

// resizable is a queue that wants to know how many receivers read it (a
// role's drain queue, so shutdown knows when every loop has parked).
type resizable interface{ Resize(receivers int) }

func (p *Pool) receiversChanged() {
	if r, ok := p.queue.(resizable); ok {
		r.Resize(len(p.slots))
	}
	p.src.Resize(len(p.slots))
}

func (p *Pool) start() {
	ctx, cancel := context.WithCancel(p.runCtx)
	s := &slot{cancel: cancel}
	p.slots = append(p.slots, s)
	p.receiversChanged()
	p.wg.Go(func() {
		defer cancel()
		p.loop(ctx, s)
		p.remove(s)
	})
}

func (p *Pool) stopOne() {
	var pick *slot
	for _, s := range p.slots {
		if !s.quit.Load() && (pick == nil || (pick.busy.Load() && !s.busy.Load())) {
			pick = s
		}
	}
	pick.quit.Store(true)
	if !pick.busy.Load() {
		pick.cancel()
	}
}

func (p *Pool) remove(s *slot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.slots {
		if x == s {
			p.slots = append(p.slots[:i], p.slots[i+1:]...)
			p.receiversChanged()
			return
		}
	}
}

// loop takes its turns and handles one delivery at a time until told to
// quit. The wait for a turn listens to the slot's context; the job runs
// under the pool's, so a scale-in never interrupts a job.
func (p *Pool) loop(ctx context.Context, s *slot) {
	for !s.quit.Load() && ctx.Err() == nil {
		t, ok, _ := p.src.Take(ctx) // logs and backs off on a failed receive
		if !ok {
			continue
		}
		p.run(s, t.Delivery)
		p.src.Done(t)
	}
}

func (p *Pool) run(s *slot, d ports.Message) {
	s.busy.Store(true)
	defer s.busy.Store(false)
	start := time.Now()
	err := p.handle(p.runCtx, d)
	if err != nil && !errors.Is(err, context.Canceled) {
		p.cfg.Logger.Warn("annotator pool: message not done; it will be delivered again", "message", d.ID, "err", err)
	}
	p.mu.Lock()
	p.meanJob = (9*p.meanJob + time.Since(start)) / 10 // moving mean of recent jobs
	p.mu.Unlock()
}

// Status is the pool's state for a status page.
type Status struct {
	Min, Max, Desired int
	Running, Busy     int // annotator loops, and those holding a job
	Waiting, InFlight int // the queue at the last tick
	// BacklogTarget is waiting jobs per annotator (acceptable wait ÷ mean
	// job time); UtilisationTarget is jobs in flight per annotator.
	BacklogTarget, UtilisationTarget float64
	AcceptableWait, MeanJob, Tick    time.Duration
	Events                           []Event // newest first
}

// Event is one resize, at wall-clock time.
type Event struct {
	At       time.Time
	From, To int
	Rule     string
}

// Status is the pool's state, newest resize first.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	busy := 0
	for _, s := range p.slots {
		if s.busy.Load() {
			busy++
		}
	}
	target, _ := scaling.AnnotatorBacklogTarget(p.cfg.AcceptableWait, p.meanJob)
	st := Status{Min: p.cfg.Min, Max: p.cfg.Max, Desired: p.group.Desired(), Running: p.runningLocked(), Busy: busy,
		Waiting: p.last.Visible, InFlight: p.last.InFlight, BacklogTarget: target, UtilisationTarget: scaling.AnnotatorUtilisationTarget,
		AcceptableWait: p.cfg.AcceptableWait, MeanJob: p.meanJob.Round(time.Millisecond), Tick: p.cfg.Tick}
	for i := len(p.events) - 1; i >= 0; i-- {
		st.Events = append(st.Events, p.events[i])
	}
	return st
}
