package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// RunnerPorts are what the annotator runner talks to.
type RunnerPorts struct {
	Requests  ports.Queue     // annotate queue (fair: one message group per user); also re-sent to
	Archives  ports.Queue     // archive queue, for free users' delayed archive requests
	Results   ports.Publisher // job-results topic, for the notifier
	Jobs      ports.JobStore
	Users     ports.UserStore
	Objects   ports.ObjectStore
	Annotator ports.Annotator
	Clock     ports.Clock
}

// Runner is the annotator worker: it claims requested jobs, annotates their
// input and stores the results, then tells the notifier and, for free
// users, schedules the archive.
type Runner struct {
	p RunnerPorts
	c *consumer
	d *Dispatcher
}

// errLostLease stops a run whose job another party changed: its lease was
// taken over after expiring, or the job was abandoned.
var errLostLease = errors.New("job lease lost")

// Reasons shown to users for failures that are not about their file.
const (
	reasonExhausted = "The annotation was interrupted too many times and was not retried again. Please submit the file again."
	reasonMissing   = "the uploaded file is no longer stored; please upload it again"
)

// NewRunner checks the ports and configuration.
func NewRunner(p RunnerPorts, cfg Config) (*Runner, error) {
	if p.Requests == nil || p.Archives == nil || p.Results == nil || p.Jobs == nil || p.Users == nil ||
		p.Objects == nil || p.Annotator == nil || p.Clock == nil {
		return nil, fmt.Errorf("%w: runner needs every port", ErrConfig)
	}
	if cfg.ResultPrefix == "" {
		return nil, fmt.Errorf("%w: runner needs a result prefix", ErrConfig)
	}
	c, err := newConsumer("annotate", p.Requests, p.Clock, cfg, message.KindJobRequest)
	if err != nil {
		return nil, err
	}
	d, err := NewDispatcher(p.Requests, p.Users, cfg)
	if err != nil {
		return nil, err
	}
	r := &Runner{p: p, c: c, d: d}
	c.process = r.process
	return r, nil
}

// Run handles job requests until ctx is cancelled, on cfg.Concurrency
// slots shared out among users by its Dispatcher; jobs in progress are
// released back to PENDING for another worker.
func (r *Runner) Run(ctx context.Context) error { return r.d.Run(ctx, r.c.handle) }

// Dispatcher is the runner's fair-share front of its queue, for a pool
// of loops that calls Handle on the turns it takes.
func (r *Runner) Dispatcher() *Dispatcher { return r.d }

// Handle processes and settles one delivery of the annotate queue.
func (r *Runner) Handle(ctx context.Context, d ports.Message) error { return r.c.handle(ctx, d) }

func (r *Runner) process(ctx context.Context, m message.Body, _ ports.Message) error {
	now := r.p.Clock.Now()
	pol := r.c.cfg.Policy
	j, err := jobs.Mutate(ctx, r.p.Jobs, m.Job, func(j *domain.Job) (bool, error) {
		if j.Status().Terminal() {
			return false, nil
		}
		err := j.Claim(now, pol.Lease, pol.MaxAttempts)
		if errors.Is(err, domain.ErrAttemptsExhausted) {
			return true, j.Abandon(now, reasonExhausted)
		}
		return err == nil, err
	})
	switch {
	case errors.Is(err, ports.ErrNotFound):
		r.c.log.WarnContext(ctx, "request for unknown job dropped", "job", m.Job)
		return nil
	case errors.Is(err, domain.ErrLeaseHeld):
		// Another worker runs it. Keep one copy of the request that looks
		// again when that lease would lapse, in case the worker died.
		next := m
		next.Due = j.LeaseUntil()
		return message.Schedule(ctx, r.p.Requests, next, now)
	case err != nil:
		return fmt.Errorf("claim: %w", err)
	case j.Status() != domain.StatusRunning:
		// Finished earlier (a duplicate request, or a redelivery after a
		// crash). Its owner being notified proves the follow-ups happened:
		// the result event is published after the archive request is
		// scheduled, and the notifier marks the job only on that event.
		// Otherwise they may not have, so they are made again (the archiver
		// and the notifier both take duplicates in their stride).
		if j.Notified() {
			r.c.log.InfoContext(ctx, "request for a finished job dropped; its owner was notified", "job", j.ID(), "status", j.Status())
			return nil
		}
		return r.followUp(ctx, j)
	}
	r.c.log.InfoContext(ctx, "job claimed", "job", j.ID(), "attempt", j.Attempts())
	return r.run(ctx, j)
}

// lease is this worker's claim on a job. Its writes are conditional on the
// version of its own last write: any other change to the job (a takeover
// after expiry, an abandonment) makes them fail, which fences a stale
// worker out.
//
// A write of its own can also land in the store while reporting failure (a
// request cancelled or timed out in flight), leaving cur one version
// behind. So on a conflict the lease re-reads the job once: if it is still
// RUNNING under this very claim (domain.Job.RunningUnder: nobody else
// claimed or finished it), only this worker can have written it, and the
// write is retried on the fresh copy; otherwise the lease is lost and the
// worker writes nothing more.
type lease struct {
	mu    sync.Mutex
	store ports.JobStore
	cur   *domain.Job
}

func (l *lease) write(ctx context.Context, change func(*domain.Job) error) (*domain.Job, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for reread := false; ; reread = true {
		j := jobs.Clone(l.cur)
		if err := change(j); err != nil {
			return nil, err
		}
		updated, err := l.store.Update(ctx, j)
		switch {
		case err == nil:
			l.cur = updated
			return updated, nil
		case !errors.Is(err, ports.ErrConflict):
			return nil, fmt.Errorf("write job %s: %w", j.ID(), err)
		case reread: // conflicting with a fresh copy: someone else wrote it
			return nil, fmt.Errorf("%w: %w", errLostLease, err)
		}
		stored, gerr := l.store.Get(ctx, j.ID())
		if gerr != nil {
			return nil, fmt.Errorf("write job %s: re-read after %v: %w", j.ID(), err, gerr)
		}
		if !stored.RunningUnder(l.cur) {
			return nil, fmt.Errorf("%w: %w", errLostLease, err)
		}
		l.cur = stored
	}
}

// renewTimeout bounds one lease renewal. Renewals do not listen to
// shutdown: one cancelled in flight may still land in the store and leave
// the lease's copy of the job stale just before the release. The bound
// (a heartbeat, between 1 and 10 seconds) keeps a hung store from holding
// up shutdown past a container's stop timeout.
func (r *Runner) renewTimeout() time.Duration {
	return min(max(r.c.cfg.Heartbeat, time.Second), 10*time.Second)
}

func (r *Runner) run(ctx context.Context, claimed *domain.Job) error {
	pol := r.c.cfg.Policy
	l := &lease{store: r.p.Jobs, cur: claimed}
	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := every(work, r.c.cfg.Heartbeat, func(hctx context.Context) {
		rctx, done := context.WithTimeout(context.WithoutCancel(hctx), r.renewTimeout())
		defer done()
		_, err := l.write(rctx, func(j *domain.Job) error { return j.ExtendLease(r.p.Clock.Now(), pol.Lease) })
		if errors.Is(err, errLostLease) || errors.Is(err, domain.ErrIllegalTransition) {
			cancel(errLostLease)
		} else if err != nil {
			r.c.log.WarnContext(hctx, "could not extend lease", "job", claimed.ID(), "err", err)
		}
	})
	keys := jobs.ResultKeys(r.c.cfg.ResultPrefix, claimed.Owner(), claimed.ID(), fmt.Sprintf("v%d", claimed.Version()))
	out, err := r.produce(work, claimed, keys)
	stop()
	bg := context.WithoutCancel(ctx)
	if cause := context.Cause(work); errors.Is(cause, errLostLease) {
		return r.lost(bg, claimed.ID(), keys)
	}
	if ctx.Err() != nil { // shutting down: hand the job back untouched
		r.discard(bg, keys)
		if _, rerr := l.write(bg, func(j *domain.Job) error { return j.Release() }); rerr != nil {
			r.c.log.WarnContext(ctx, "could not release job", "job", claimed.ID(), "err", rerr)
		}
		return ctx.Err()
	}
	if err != nil {
		return r.fail(ctx, l, keys, err)
	}
	owner, err := r.p.Users.Get(ctx, claimed.Owner())
	if err != nil { // a store fault: the run is retried like any other
		return r.fail(ctx, l, keys, fmt.Errorf("load owner %s: %w", claimed.Owner(), err))
	}
	done, err := l.write(ctx, func(j *domain.Job) error {
		now := r.p.Clock.Now()
		if err := j.Complete(now, out.Keys, out.Reference, out.Summary.Counts()); err != nil {
			return err
		}
		// The archive schedule is part of the completion: a free owner's
		// results move to cold storage after the window, a premium owner's
		// never do, whatever plan they choose later.
		if r.c.cfg.Policy.Archives(owner.Tier()) {
			return j.ScheduleArchive(j.CompletedAt().Add(r.c.cfg.Policy.FreeWindow))
		}
		return nil
	})
	if errors.Is(err, errLostLease) {
		return r.lost(bg, claimed.ID(), keys)
	}
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	r.c.log.InfoContext(ctx, "job completed", "job", done.ID())
	return r.followUp(ctx, done)
}

// lost gives up a run whose job another party changed. The outputs are
// this run's own and unreferenced, so they go; the delivery is NOT
// acknowledged: whoever took the job over may die too, and the redelivery
// will find the job finished (and be acknowledged) or pending again.
func (r *Runner) lost(ctx context.Context, id domain.JobID, keys domain.ResultKeys) error {
	r.c.log.WarnContext(ctx, "job taken from this worker; dropping its run", "job", id)
	r.discard(ctx, keys)
	return &retryLater{err: fmt.Errorf("job %s: %w", id, errLostLease), after: r.c.cfg.RetryDelay}
}

// fail records a failed run: permanently for bad input (its message is
// shown to the user), else back to PENDING while attempts remain.
func (r *Runner) fail(ctx context.Context, l *lease, keys domain.ResultKeys, cause error) error {
	r.discard(ctx, keys)
	pol := r.c.cfg.Policy
	permanent := errors.Is(cause, ports.ErrBadInput)
	reason := "internal error while annotating; the job will be retried"
	if permanent {
		reason = userReason(cause)
	}
	var retry bool
	failed, err := l.write(ctx, func(j *domain.Job) (err error) {
		retry, err = j.Fail(r.p.Clock.Now(), reason, permanent, pol.MaxAttempts)
		return err
	})
	if errors.Is(err, errLostLease) {
		return r.lost(ctx, l.cur.ID(), domain.ResultKeys{})
	}
	if err != nil {
		return fmt.Errorf("record failure (%v): %w", cause, err)
	}
	if retry {
		r.c.log.WarnContext(ctx, "run failed; will retry", "job", failed.ID(), "attempt", failed.Attempts(), "err", cause)
		return &retryLater{err: fmt.Errorf("run failed: %w", cause), after: r.c.backoff(failed.Attempts())}
	}
	if !permanent {
		r.c.log.ErrorContext(ctx, "run failed on its last attempt", "job", failed.ID(), "err", cause)
	}
	return r.followUp(ctx, failed)
}

// followUp makes the effects that must follow a terminal job durable: the
// result event for the notifier and, for a free owner's hot results, the
// delayed archive request. Redeliveries repeat them (at-least-once).
func (r *Runner) followUp(ctx context.Context, j *domain.Job) error {
	if j.Status() != domain.StatusCompleted && j.Status() != domain.StatusFailed {
		return nil
	}
	if due := j.ArchiveDue(); !due.IsZero() && j.Storage() == domain.StorageAvailable && j.ArchiveID() == "" {
		if err := message.Schedule(ctx, r.p.Archives, message.ArchiveJob(j.ID(), due), r.p.Clock.Now()); err != nil {
			return err
		}
	}
	return message.Publish(ctx, r.p.Results, message.JobResult(j.ID(), j.Owner()))
}

// discard deletes a run's outputs that no job record points to.
func (r *Runner) discard(ctx context.Context, keys domain.ResultKeys) {
	for _, k := range []string{keys.VCF, keys.Index, keys.Summary, keys.Log} {
		if k == "" {
			continue
		}
		if err := r.p.Objects.Delete(ctx, k); err != nil {
			r.c.log.WarnContext(ctx, "could not delete unused output", "key", k, "err", err)
		}
	}
}

// produce has the annotator store the job's results under keys, within the
// input limits of its owner's plan. A missing input is the user's to fix
// (it was deleted or never fully uploaded).
func (r *Runner) produce(ctx context.Context, j *domain.Job, keys domain.ResultKeys) (ports.Annotated, error) {
	owner, err := r.p.Users.Get(ctx, j.Owner())
	if err != nil {
		return ports.Annotated{}, fmt.Errorf("load owner: %w", err)
	}
	out, err := r.p.Annotator.Annotate(ctx, ports.AnnotationRequest{
		Input: j.InputKey(), Keys: keys, Options: j.Options(), Limits: r.c.cfg.Policy.InputLimits(owner.Tier()),
	})
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return out, fmt.Errorf("%w: %s", ports.ErrBadInput, reasonMissing)
	case err != nil:
		return out, err
	}
	return out, nil
}

// userReason is the message of a bad-input error as users should read it:
// the engine's words without the sentinel's "bad input: " prefix.
func userReason(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, ports.ErrBadInput.Error()+": "); ok && rest != "" {
		return rest
	}
	return msg
}
