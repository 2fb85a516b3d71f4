package workers

import (
	"context"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Archiving is what the archive-side workers need from the archival service.
type Archiving interface {
	Archive(ctx context.Context, id domain.JobID) error
	Thaw(ctx context.Context, user domain.UserID) error
	ThawJob(ctx context.Context, user domain.UserID, id domain.JobID) error
	Restore(ctx context.Context, id domain.JobID) error
	RestoreCheck(ctx context.Context, id domain.JobID, r archival.Retrieval) error
}

var _ Archiving = (*archival.Service)(nil)

// Archiver archives free users' results when their archive request is due.
type Archiver struct{ c *consumer }

// NewArchiver consumes the archive queue.
func NewArchiver(queue ports.Queue, svc Archiving, clock ports.Clock, cfg Config) (*Archiver, error) {
	c, err := newConsumer("archive", queue, clock, cfg, message.KindArchive)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, fmt.Errorf("%w: archiver needs the archival service", ErrConfig)
	}
	c.process = func(ctx context.Context, m message.Body, _ ports.Message) error { return svc.Archive(ctx, m.Job) }
	return &Archiver{c}, nil
}

// Run archives until ctx is cancelled.
func (a *Archiver) Run(ctx context.Context) error { return a.c.run(ctx) }

// Handle processes and settles one delivery.
func (a *Archiver) Handle(ctx context.Context, d ports.Message) error { return a.c.handle(ctx, d) }

// Thawer starts the restore of every archived job of an upgraded user.
type Thawer struct{ c *consumer }

// NewThawer consumes the thaw queue.
func NewThawer(queue ports.Queue, svc Archiving, clock ports.Clock, cfg Config) (*Thawer, error) {
	c, err := newConsumer("thaw", queue, clock, cfg, message.KindThaw)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, fmt.Errorf("%w: thawer needs the archival service", ErrConfig)
	}
	c.process = func(ctx context.Context, m message.Body, _ ports.Message) error {
		if m.Job != "" {
			return svc.ThawJob(ctx, m.User, m.Job)
		}
		return svc.Thaw(ctx, m.User)
	}
	return &Thawer{c}, nil
}

// Run thaws until ctx is cancelled.
func (t *Thawer) Run(ctx context.Context) error { return t.c.run(ctx) }

// Handle processes and settles one delivery.
func (t *Thawer) Handle(ctx context.Context, d ports.Message) error { return t.c.handle(ctx, d) }

// Restorer finishes retrievals: on a completion notification, or on the
// polling fallback's checks, which it keeps scheduling until the retrieval
// is done.
type Restorer struct{ c *consumer }

// NewRestorer consumes the restore queue (restore-completions topic and
// scheduled checks alike).
func NewRestorer(queue ports.Queue, svc Archiving, clock ports.Clock, cfg Config) (*Restorer, error) {
	c, err := newConsumer("restore", queue, clock, cfg, message.KindRestore)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, fmt.Errorf("%w: restorer needs the archival service", ErrConfig)
	}
	c.process = func(ctx context.Context, m message.Body, _ ports.Message) error {
		var err error
		if m.Retrieval != "" {
			err = svc.RestoreCheck(ctx, m.Job, archival.Retrieval{ID: m.Retrieval, ArchiveID: m.Archive, Tier: m.Tier, ExpectedBy: m.Due})
		} else {
			err = svc.Restore(ctx, m.Job)
		}
		if !errors.Is(err, archival.ErrRestorePending) {
			return err
		}
		if !m.Poll {
			return nil // an early notification; the polling chain continues
		}
		now := clock.Now()
		next := m
		next.Due = now.Add(c.cfg.PollInterval)
		return message.Schedule(ctx, queue, next, now)
	}
	return &Restorer{c}, nil
}

// Run restores until ctx is cancelled.
func (r *Restorer) Run(ctx context.Context) error { return r.c.run(ctx) }

// Handle processes and settles one delivery.
func (r *Restorer) Handle(ctx context.Context, d ports.Message) error { return r.c.handle(ctx, d) }

func newConsumer(name string, queue ports.Queue, clock ports.Clock, cfg Config, kinds ...message.Kind) (*consumer, error) {
	if queue == nil || clock == nil {
		return nil, fmt.Errorf("%w: %s worker needs its queue and a clock", ErrConfig, name)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &consumer{name: name, queue: queue, clock: clock, cfg: cfg, kinds: kinds,
		log: cfg.Logger.With("worker", name)}, nil
}
