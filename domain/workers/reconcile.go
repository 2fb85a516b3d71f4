package workers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Finding names one kind of thing the reconciler found missing and
// re-issued; the names label its metrics.
type Finding string

// What the reconciler looks for (ARCHITECTURE.md, Convergence). Each
// finding is a job whose next step depends on a message that should have
// acted by now, and each repair re-issues that message: every consumer
// takes duplicates in its stride, so a repair that races the original
// costs one redundant delivery, never a wrong state.
const (
	// FindingUnrequested: PENDING with no request left to run it (the
	// submit died between storing the job and publishing, the request was
	// lost or dead-lettered and dropped): published again.
	FindingUnrequested Finding = "pending_unrequested"
	// FindingLeaseExpired: RUNNING under a lease that lapsed a grace ago
	// (its worker died and its request was lost): returned to PENDING with
	// the run charged (FAILED if no attempt is left) and requested again.
	FindingLeaseExpired Finding = "lease_expired"
	// FindingArchiveOverdue: results still hot, with no archive copy, a
	// grace after their archive schedule came due (domain.Job.ArchiveDue,
	// set only for results completed under free rules and forgotten by an
	// upgrade): the archive is scheduled.
	FindingArchiveOverdue Finding = "archive_overdue"
	// FindingArchivedPremium: ARCHIVED results of a user premium for a
	// grace (the thaw request was lost, or its listing missed the job): the
	// job is thawed on its own.
	FindingArchivedPremium Finding = "archived_premium"
	// FindingRestoreOverdue: RESTORING a grace past its expected time: the
	// restorer checks the retrieval again (and starts a new one if cold
	// storage forgot it).
	FindingRestoreOverdue Finding = "restore_overdue"
	// FindingArchiveCopyLeft: restored results whose archive copy was not
	// deleted (the restorer died in between): the restorer finishes.
	FindingArchiveCopyLeft Finding = "archive_copy_left"
	// FindingNoticeUnsent: finished a grace ago and its owner not told,
	// with no notifier holding the notice: the result event is published.
	FindingNoticeUnsent Finding = "notice_unsent"
)

// Findings lists every finding, for metrics that report zeros too.
var Findings = []Finding{FindingUnrequested, FindingLeaseExpired, FindingArchiveOverdue, FindingArchivedPremium,
	FindingRestoreOverdue, FindingArchiveCopyLeft, FindingNoticeUnsent}

// Report is what one reconciliation found.
type Report struct {
	Started time.Time
	Took    time.Duration
	DryRun  bool
	// Scanned counts the jobs read.
	Scanned int
	// Found counts the jobs of each finding: repaired, or (DryRun) that
	// would have been.
	Found map[Finding]int
	// Deferred counts PENDING jobs idle for a grace that were not requested
	// again because the annotate queue holds at least as many requests as
	// there are unfinished jobs (a backlog, not a loss).
	Deferred int
	// Errors counts repairs that failed (logged); the next run tries again.
	Errors int
}

// Total is the number of findings.
func (r Report) Total() int {
	n := 0
	for _, c := range r.Found {
		n += c
	}
	return n
}

// ReconcilerPorts are what the reconciler reads, and where it re-issues
// what it finds missing (the topics and queues of
// message.Topology.Reconciler).
type ReconcilerPorts struct {
	Jobs     ports.JobStore
	Users    ports.UserStore
	Results  ports.Publisher // job-results topic
	Thaws    ports.Publisher // thaw-requests topic
	Restores ports.Publisher // restore-completions topic
	Archives ports.Queue     // archive queue (delayed sends)
	Annotate ports.Queue     // annotate queue: requests go there, and its depth tells a backlog from a loss
	Clock    ports.Clock
}

// Reconciler makes the pipeline converge from any state. Stores are the
// truth and messages are hints; every action that wrote a store and then
// sent a message (submit, upgrade, completion, archive, thaw, restore) can
// lose the message to a crash, an outage, a dropped dead letter or an
// index that lagged. The reconciler scans every job with strongly
// consistent reads, decides from the job and its owner alone what should
// have happened by now, and re-issues the missing message (see the
// Finding constants). It runs every ReconcileInterval and on demand.
type Reconciler struct {
	p       ReconcilerPorts
	cfg     Config
	observe func(Report, error)
}

// NewReconciler checks the ports; observe (nil: none) sees every pass's
// report and error, for metrics.
func NewReconciler(p ReconcilerPorts, cfg Config, observe func(Report, error)) (*Reconciler, error) {
	if p.Jobs == nil || p.Users == nil || p.Results == nil || p.Thaws == nil ||
		p.Restores == nil || p.Archives == nil || p.Annotate == nil || p.Clock == nil {
		return nil, fmt.Errorf("%w: reconciler needs every port", ErrConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if observe == nil {
		observe = func(Report, error) {}
	}
	cfg.Logger = cfg.Logger.With("worker", "reconciler")
	return &Reconciler{p: p, cfg: cfg, observe: observe}, nil
}

// Run reconciles at once and then every ReconcileInterval (real time)
// until ctx is cancelled. A failed run is logged; the next one tries again.
func (r *Reconciler) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		if _, err := r.Reconcile(ctx, false); err != nil && ctx.Err() == nil {
			r.cfg.Logger.ErrorContext(ctx, "reconciliation failed; trying again at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Reconcile scans every job once and repairs what it finds; with dryRun it
// only reports. It fails only when the scan itself fails; failed repairs
// are counted in the report and logged.
func (r *Reconciler) Reconcile(ctx context.Context, dryRun bool) (Report, error) {
	run := &pass{r: r, dryRun: dryRun, now: r.p.Clock.Now(), owners: map[domain.UserID]*domain.User{},
		report: Report{DryRun: dryRun, Found: map[Finding]int{}}}
	run.report.Started = run.now
	start := time.Now()
	err := r.p.Jobs.Scan(ctx, func(j *domain.Job) error {
		run.report.Scanned++
		run.visit(ctx, j)
		return ctx.Err()
	})
	if err == nil {
		run.requestStranded(ctx)
	}
	run.report.Took = time.Since(start)
	if err != nil {
		err = fmt.Errorf("reconcile: %w", err)
	}
	r.observe(run.report, err)
	if err != nil {
		return run.report, err
	}
	r.logReport(ctx, run.report)
	return run.report, nil
}

func (r *Reconciler) logReport(ctx context.Context, rep Report) {
	args := []any{"scanned", rep.Scanned, "dry_run", rep.DryRun, "deferred", rep.Deferred, "errors", rep.Errors,
		"took", rep.Took.Round(time.Millisecond).String()}
	for _, f := range slices.Sorted(maps.Keys(rep.Found)) {
		args = append(args, string(f), rep.Found[f])
	}
	if rep.Total() > 0 || rep.Errors > 0 {
		r.cfg.Logger.WarnContext(ctx, "reconciled: lost messages re-issued", args...)
		return
	}
	r.cfg.Logger.DebugContext(ctx, "reconciled: nothing missing", args...)
}

// pass is one reconciliation.
type pass struct {
	r      *Reconciler
	dryRun bool
	now    time.Time
	owners map[domain.UserID]*domain.User
	report Report
	// unfinished counts PENDING and RUNNING jobs; stale are those idle for
	// a grace, the candidates for a new request.
	unfinished int
	stale      []*domain.Job
}

// visit decides what job j is missing, if anything, and repairs it.
func (p *pass) visit(ctx context.Context, j *domain.Job) {
	grace := p.r.cfg.ReconcileGrace
	switch j.Status() {
	case domain.StatusPending:
		p.unfinished++
		if p.now.Sub(lastRequested(j)) > grace {
			p.stale = append(p.stale, j)
		}
	case domain.StatusRunning:
		p.unfinished++
		if p.now.Sub(j.LeaseUntil()) > grace {
			p.act(ctx, FindingLeaseExpired, j, p.expire)
		}
	case domain.StatusCompleted, domain.StatusFailed:
		if !j.Notified() && p.now.Sub(j.CompletedAt()) > grace && p.now.After(j.NoticeHeldUntil()) {
			p.act(ctx, FindingNoticeUnsent, j, p.announce)
		}
		if j.Status() == domain.StatusCompleted {
			p.visitResults(ctx, j)
		}
	}
}

// lastRequested is when j was last submitted or claimed: a request is
// published (or redelivered) at each.
func lastRequested(j *domain.Job) time.Time {
	if j.StartedAt().After(j.SubmittedAt()) {
		return j.StartedAt()
	}
	return j.SubmittedAt()
}

// visitResults checks where a completed job's results are against where
// they should be by now.
func (p *pass) visitResults(ctx context.Context, j *domain.Job) {
	grace := p.r.cfg.ReconcileGrace
	switch j.Storage() {
	case domain.StorageAvailable:
		if j.ArchiveID() != "" {
			p.act(ctx, FindingArchiveCopyLeft, j, p.checkRestore)
			return
		}
		// The job's own archive schedule says whether its results were
		// completed under free rules; an upgrade forgets it, and the
		// archiver checks the owner's plan again before moving anything.
		if due := j.ArchiveDue(); !due.IsZero() && p.now.Sub(due) > grace {
			p.act(ctx, FindingArchiveOverdue, j, p.archive)
		}
	case domain.StorageArchived:
		if owner := p.owner(ctx, j.Owner()); owner != nil && owner.Premium() && p.now.Sub(owner.UpgradedAt()) > grace {
			p.act(ctx, FindingArchivedPremium, j, p.thaw)
		}
	case domain.StorageRestoring:
		if p.now.Sub(j.RestoreExpectedBy()) > grace {
			p.act(ctx, FindingRestoreOverdue, j, p.checkRestore)
		}
	}
}

// owner reads a job's owner once per pass, strongly consistently; nil if
// it cannot be read (the decision is then left to the next pass).
func (p *pass) owner(ctx context.Context, id domain.UserID) *domain.User {
	if u, ok := p.owners[id]; ok {
		return u
	}
	u, err := p.r.p.Users.Get(ctx, id)
	if err != nil {
		p.r.cfg.Logger.WarnContext(ctx, "reconcile: owner unreadable; their jobs wait for the next pass", "user", id, "err", err)
		u = nil
	}
	p.owners[id] = u
	return u
}

// act counts finding f for j and repairs it unless this is a dry run.
func (p *pass) act(ctx context.Context, f Finding, j *domain.Job, repair func(context.Context, *domain.Job) error) {
	p.report.Found[f]++
	if p.dryRun {
		return
	}
	if err := repair(ctx, j); err != nil {
		p.report.Errors++
		p.r.cfg.Logger.WarnContext(ctx, "reconcile: repair failed; the next pass tries again", "finding", string(f), "job", j.ID(), "err", err)
		return
	}
	p.r.cfg.Logger.InfoContext(ctx, "reconcile: repaired", "finding", string(f), "job", j.ID())
}

// requestStranded publishes requests for the PENDING jobs idle for a
// grace, unless the annotate queue holds at least as many requests as
// there are unfinished jobs: then every job may still have its request
// waiting in a backlog (fair share holds some back for long), and a
// duplicate would only lengthen the queue. When the queue holds fewer,
// some job's request is certainly gone; which one cannot be told, so each
// idle job is requested again (a duplicate of a live request costs one
// delivery: the runner's claim lets only one run).
func (p *pass) requestStranded(ctx context.Context) {
	if len(p.stale) == 0 {
		return
	}
	st, err := p.r.p.Annotate.Stats(ctx)
	if err == nil && st.Visible+st.InFlight+st.Delayed >= p.unfinished {
		p.report.Deferred += len(p.stale)
		return
	}
	for _, j := range p.stale {
		p.act(ctx, FindingUnrequested, j, p.request)
	}
}

func (p *pass) request(ctx context.Context, j *domain.Job) error {
	return message.Schedule(ctx, p.r.p.Annotate, message.JobRequest(j.ID(), j.Owner()), p.r.p.Clock.Now())
}

// expire returns a job whose worker is gone to PENDING (or FAILED when it
// has no attempt left, telling its owner) and requests it again.
func (p *pass) expire(ctx context.Context, j *domain.Job) error {
	pol := p.r.cfg.Policy
	cur, err := jobs.Mutate(ctx, p.r.p.Jobs, j.ID(), func(cur *domain.Job) (bool, error) {
		err := cur.Expire(p.now, pol.MaxAttempts)
		switch {
		case errors.Is(err, domain.ErrAttemptsExhausted):
			return true, cur.Abandon(p.now, reasonExhausted)
		case errors.Is(err, domain.ErrLeaseHeld), errors.Is(err, domain.ErrIllegalTransition):
			return false, nil // renewed or finished meanwhile
		}
		return err == nil, err
	})
	switch {
	case err != nil:
		return fmt.Errorf("expire lease: %w", err)
	case cur.Status() == domain.StatusFailed:
		return p.announce(ctx, cur)
	case cur.Status() == domain.StatusPending:
		return p.request(ctx, cur)
	}
	return nil
}

func (p *pass) announce(ctx context.Context, j *domain.Job) error {
	return message.Publish(ctx, p.r.p.Results, message.JobResult(j.ID(), j.Owner()))
}

func (p *pass) archive(ctx context.Context, j *domain.Job) error {
	return message.Schedule(ctx, p.r.p.Archives, message.ArchiveJob(j.ID(), p.now), p.now)
}

func (p *pass) thaw(ctx context.Context, j *domain.Job) error {
	return message.Publish(ctx, p.r.p.Thaws, message.ThawJob(j.Owner(), j.ID()))
}

func (p *pass) checkRestore(ctx context.Context, j *domain.Job) error {
	return message.Publish(ctx, p.r.p.Restores, message.RestoreCompleted(j.ID()))
}
