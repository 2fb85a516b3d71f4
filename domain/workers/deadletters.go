package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// DeadLetterPorts are what the dead-letter handler of one queue talks to.
type DeadLetterPorts struct {
	DLQ ports.Queue // the dead-letter queue drained
	// Origin is the queue whose failures land there, for redrives; Queue
	// is its name, for the reason a parked message carries.
	Origin ports.Queue
	Queue  string
	// Parked takes messages whose redrives are spent (Topology.Parked).
	Parked  ports.Queue
	Results ports.Publisher // job-results topic, so users hear of failures
	Jobs    ports.JobStore
	Clock   ports.Clock
}

// DeadLetters handles messages that failed too often. A job request whose
// job has not finished marks it FAILED with a plain-words reason and tells
// the user (unless a live worker still holds the job: a long run is never
// failed under its worker); anything else is sent back to its queue after
// a delay a few times (housekeeping such as archiving and restoring must
// eventually happen), then parked with its reason on the parked queue,
// which operators are alarmed about. Nothing is dropped silently, and the
// reconciler repairs from the stores whatever a parked message was about.
type DeadLetters struct {
	p DeadLetterPorts
	c *consumer
}

// Reason recorded for a job whose request kept failing.
const reasonDeadLetter = "GAS could not process this job after repeated attempts because of an internal error. Please submit the file again."

// NewDeadLetters checks ports and configuration.
func NewDeadLetters(p DeadLetterPorts, cfg Config) (*DeadLetters, error) {
	if p.Origin == nil || p.Parked == nil || p.Results == nil || p.Jobs == nil {
		return nil, fmt.Errorf("%w: dead-letter handler needs every port", ErrConfig)
	}
	c, err := newConsumer("dead-letters", p.DLQ, p.Clock, cfg,
		message.KindJobRequest, message.KindJobResult, message.KindArchive, message.KindThaw, message.KindRestore)
	if err != nil {
		return nil, err
	}
	d := &DeadLetters{p: p, c: c}
	c.process = d.process
	return d, nil
}

// Run drains the dead-letter queue until ctx is cancelled.
func (d *DeadLetters) Run(ctx context.Context) error { return d.c.run(ctx) }

// Handle processes and settles one delivery.
func (d *DeadLetters) Handle(ctx context.Context, m ports.Message) error { return d.c.handle(ctx, m) }

func (d *DeadLetters) process(ctx context.Context, m message.Body, _ ports.Message) error {
	if m.Kind != message.KindJobRequest {
		return d.redrive(ctx, m, m.Due)
	}
	j, err := d.p.Jobs.Get(ctx, m.Job)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load job: %w", err)
	}
	now := d.p.Clock.Now()
	switch {
	case j.Status() == domain.StatusCancelled, j.Status().Terminal() && j.Notified():
		return nil // nothing left to do: its owner was told
	case j.Status().Terminal():
		// Finished, but its follow-ups (result event, archive request)
		// kept failing: let the runner try them again.
		return d.redrive(ctx, m, now)
	case j.Status() == domain.StatusRunning && now.Before(j.LeaseUntil()):
		// A live worker holds it (a long job whose request was handed over,
		// or redelivered past SQS's visibility cap): a job still running is
		// never failed. Look again when its lease would lapse; this spends
		// no redrive, since the job is making progress.
		return d.resend(ctx, m, j.LeaseUntil())
	}
	return d.abandon(ctx, m.Job)
}

// redrive sends m back to its queue after RedriveDelay (or at due if
// later), or parks it once it has been redriven MaxRedrives times.
func (d *DeadLetters) redrive(ctx context.Context, m message.Body, due time.Time) error {
	if m.Redrives >= d.c.cfg.MaxRedrives {
		return d.park(ctx, m)
	}
	m.Redrives++
	if later := d.p.Clock.Now().Add(d.c.cfg.RedriveDelay); later.After(due) {
		due = later
	}
	return d.resend(ctx, m, due)
}

// resend schedules m on its queue at due.
func (d *DeadLetters) resend(ctx context.Context, m message.Body, due time.Time) error {
	m.Due = due
	d.c.log.WarnContext(ctx, "redriving failed message", "message", m.String(), "redrive", m.Redrives, "due", m.Due)
	return message.Schedule(ctx, d.p.Origin, m, d.p.Clock.Now())
}

// park puts m on the parked queue with why it was given up.
func (d *DeadLetters) park(ctx context.Context, m message.Body) error {
	now := d.p.Clock.Now()
	m.Queue, m.ParkedAt, m.Due = d.p.Queue, now, time.Time{}
	m.Reason = fmt.Sprintf("kept failing on queue %s after %d redrives", d.p.Queue, m.Redrives)
	if err := d.p.Parked.Send(ctx, ports.Outgoing{Body: m.Encode(), Group: m.Group()}); err != nil {
		return fmt.Errorf("park %s: %w", m, err)
	}
	d.c.log.ErrorContext(ctx, "message parked after repeated failures; the reconciler repairs its job from the stores",
		"message", m.String(), "queue", d.p.Queue, "redrives", m.Redrives)
	return nil
}

// abandon marks an unfinished job FAILED and announces it.
func (d *DeadLetters) abandon(ctx context.Context, id domain.JobID) error {
	now := d.p.Clock.Now()
	j, err := jobs.Mutate(ctx, d.p.Jobs, id, func(j *domain.Job) (bool, error) {
		if j.Status().Terminal() {
			return false, nil
		}
		return true, j.Abandon(now, reasonDeadLetter)
	})
	if err != nil {
		return fmt.Errorf("abandon job %s: %w", id, err)
	}
	if j.Status() != domain.StatusFailed {
		return nil
	}
	d.c.log.ErrorContext(ctx, "job abandoned after repeated failures", "job", id)
	return message.Publish(ctx, d.p.Results, message.JobResult(j.ID(), j.Owner()))
}
