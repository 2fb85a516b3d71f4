package workers_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// reconciler is the reconciler over this portset.
func (p portset) reconciler() *workers.Reconciler {
	r, err := workers.NewReconciler(workers.ReconcilerPorts{Jobs: p.jobs, Users: p.users,
		Results: p.topic(tResults), Thaws: p.topic(tThaws), Restores: p.topic(tRestores),
		Archives: p.queue(qArchive), Annotate: p.queue(qAnnotate), Clock: p.w.clock}, p.w.cfg, nil)
	if err != nil {
		p.w.t.Fatal(err)
	}
	return r
}

// reconcile runs one reconciliation with healthy ports.
func (w *world) reconcile(dryRun bool) workers.Report {
	w.t.Helper()
	rep, err := w.ports(nil).reconciler().Reconcile(w.ctx, dryRun)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// afterFault is "the fault cleared and one reconcile interval passed":
// the clock moves past the grace, the reconciler runs once and every
// message it re-issued is delivered (time moving on for delayed ones, as
// a restore takes). It returns the reconciliation's report.
func (w *world) afterFault() workers.Report {
	w.t.Helper()
	w.clock.Advance(w.cfg.ReconcileGrace + time.Second)
	rep := w.reconcile(false)
	w.settleWithTime()
	return rep
}

// settleWithTime delivers everything, moving time on while only delayed
// messages are left.
func (w *world) settleWithTime() {
	w.t.Helper()
	for range 100 {
		w.settle()
		if w.pending() == 0 {
			return
		}
		w.clock.Advance(5 * time.Minute)
	}
	w.t.Fatalf("queues never emptied: %d messages left", w.pending())
}

// drop removes every visible message of a queue: they were lost.
func (w *world) drop(name string) int {
	w.t.Helper()
	n := 0
	for {
		m, ok := w.receive(name)
		if !ok {
			return n
		}
		if err := w.queues[name].Delete(w.ctx, m.Receipt); err != nil {
			w.t.Fatal(err)
		}
		n++
	}
}

func wantFound(t *testing.T, rep workers.Report, f domain.Finding, n int) {
	t.Helper()
	if rep.Found[f] != n {
		t.Fatalf("reconciler found %d %s, want %d (report %+v)", rep.Found[f], f, n, rep)
	}
}

// A submit that dies between storing the job and publishing its request
// (both paths: streamed upload and presigned submit) leaves it PENDING with
// nothing to run it; one reconciliation later it has run.
func TestReconcileRequestsJobsWhoseSubmitDied(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	inj := newInjector(0, 0)
	inj.failOn = "annotate.Send" // the process dies at the send: not even the withdrawal happens
	p := w.ports(inj)
	dying, err := jobs.NewService(p.jobs, p.users, p.objects, p.queue(qAnnotate), w.clock, memory.NewSequenceIDs("dying"),
		jobs.Config{Policy: w.policy, InputPrefix: "inputs/", ResultPrefix: "results/", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1))); err == nil {
		t.Fatal("upload survived the crash")
	}
	key := jobs.InputKey("inputs/", "ada", "presigned-1")
	if _, err := w.objects.Put(w.ctx, key, strings.NewReader(inputFor(2))); err != nil {
		t.Fatal(err)
	}
	inj2 := newInjector(0, 0)
	inj2.failOn = "annotate.Send"
	p2 := w.ports(inj2)
	dying2, _ := jobs.NewService(p2.jobs, p2.users, p2.objects, p2.queue(qAnnotate), w.clock, memory.NewSequenceIDs("x"),
		jobs.Config{Policy: w.policy, InputPrefix: "inputs/", ResultPrefix: "results/", Logger: discardLogger()})
	if _, err := dying2.Submit(w.ctx, "ada", "presigned-1", "b.vcf", domain.JobOptions{}); err == nil {
		t.Fatal("submit survived the crash")
	}
	all := w.allJobs()
	if len(all) != 2 || all[0].Status() != domain.StatusPending || all[1].Status() != domain.StatusPending || w.pending() != 0 {
		t.Fatalf("after the crashes: %d jobs, %d messages", len(all), w.pending())
	}
	rep := w.afterFault()
	wantFound(t, rep, domain.FindingUnrequested, 2)
	for _, j := range w.allJobs() {
		if j.Status() != domain.StatusCompleted || !j.Notified() {
			t.Fatalf("job %s: %s notified %v, want COMPLETED and notified", j.ID(), j.Status(), j.Notified())
		}
	}
}

// An upgrade that dies between making the user premium and publishing the
// thaw leaves their ARCHIVED results archived; one reconciliation later
// they are hot.
func TestReconcileThawsWhatAnUpgradeCrashLeftArchived(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.passWindowAndArchive()
	w.settle()
	inj := newInjector(0, 0)
	inj.failOn = "publish"
	p := w.ports(inj)
	dying := accounts.NewService(p.users, memory.NewFreeBilling(), p.topic(tThaws), w.clock).WithLogger(discardLogger())
	if _, err := dying.Upgrade(w.ctx, "ada"); err == nil {
		t.Fatal("upgrade survived the crash")
	}
	if u, _ := w.users.Get(w.ctx, "ada"); !u.Premium() || w.pending() != 0 || w.job(j.ID()).Storage() != domain.StorageArchived {
		t.Fatal("the crash should leave a premium user, archived results and no thaw")
	}
	rep := w.afterFault()
	wantFound(t, rep, domain.FindingArchivedPremium, 1)
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" {
		t.Fatalf("after reconciling: %s archive %q, want AVAILABLE with the copy gone", got.Storage(), got.ArchiveID())
	}
}

// laggingJobs hides jobs written in the last lag from ListByStorage, as a
// DynamoDB global secondary index lags behind its table.
type laggingJobs struct {
	ports.JobStore
	clock   ports.Clock
	lag     time.Duration
	mu      sync.Mutex
	written map[domain.JobID]time.Time
}

func (l *laggingJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	out, err := l.JobStore.Update(ctx, j)
	if err == nil {
		l.mu.Lock()
		l.written[j.ID()] = l.clock.Now()
		l.mu.Unlock()
	}
	return out, err
}

func (l *laggingJobs) ListByStorage(ctx context.Context, u domain.UserID, st domain.Storage) ([]*domain.Job, error) {
	js, err := l.JobStore.ListByStorage(ctx, u, st)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var seen []*domain.Job
	for _, j := range js {
		if at, ok := l.written[j.ID()]; !ok || now.Sub(at) >= l.lag {
			seen = append(seen, j)
		}
	}
	return seen, err
}

// A job archived just before its owner upgrades is missed by the thaw,
// whose listing comes from an index that has not caught up; one
// reconciliation (which reads the table, never the index) later it is hot.
func TestReconcileRestoresAJobALaggingIndexHid(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	lag := &laggingJobs{JobStore: w.jobStore, clock: w.clock, lag: time.Minute, written: map[domain.JobID]time.Time{}}
	w.clock.Advance(w.policy.FreeWindow + time.Second)
	m, _ := w.receive(qArchive)
	p := w.ports(nil)
	p.jobs = lag
	if err := p.handler(qArchive)(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	tm, _ := w.receive(qThaw)
	if err := p.handler(qThaw)(w.ctx, tm); err != nil {
		t.Fatal(err)
	}
	if got := w.job(j.ID()); got.Storage() != domain.StorageArchived {
		t.Fatalf("the thaw should have missed the job: %s", got.Storage())
	}
	rep := w.afterFault()
	wantFound(t, rep, domain.FindingArchivedPremium, 1)
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" {
		t.Fatalf("after reconciling: %s archive %q", got.Storage(), got.ArchiveID())
	}
}

// Restores keep failing while cold storage is out for an hour: their
// messages dead-letter, are redriven, and are finally parked (with their
// reason, never dropped). When the outage ends, one reconciliation
// restores every job.
func TestReconcileRestoresAfterAnOutageParkedTheirDeadLetters(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	var ids []domain.JobID
	for i := range 3 {
		ids = append(ids, w.uploadAndRun("ada", i).ID())
	}
	w.passWindowAndArchive()
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qThaw)
	outage := w.clock.Now().Add(time.Hour)
	down := func(ctx context.Context, what string) error {
		if strings.HasPrefix(what, "archive.") && w.clock.Now().Before(outage) {
			return errFlake
		}
		return nil
	}
	for w.clock.Now().Before(outage) { // every delivery of the hour fails
		for _, q := range []string{qRestore, dlq(qRestore)} {
			for {
				m, ok := w.receive(q)
				if !ok {
					break
				}
				inj := newInjector(0, 0)
				inj.hook = down
				_ = w.ports(inj).handler(q)(w.ctx, m)
			}
		}
		w.clock.Advance(time.Minute)
	}
	parked, _ := w.parked.Stats(w.ctx)
	if parked.Visible == 0 {
		t.Fatal("no restore message was parked during the outage")
	}
	w.drop(qRestore) // whatever is left of the hour
	for _, id := range ids {
		if got := w.job(id); got.Storage() != domain.StorageRestoring {
			t.Fatalf("job %s during the outage: %s", id, got.Storage())
		}
	}
	ms, err := w.parked.Receive(w.ctx, 1, time.Minute, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("parked: %v %v", ms, err)
	}
	m := ms[0]
	if pm, err := message.Decode(m.Body); err != nil || pm.Reason == "" || pm.Queue != qRestore || pm.ParkedAt.IsZero() {
		t.Fatalf("parked message %s: %v", m.Body, err)
	}
	rep := w.afterFault()
	wantFound(t, rep, domain.FindingRestoreOverdue, len(ids))
	for _, id := range ids {
		if got := w.job(id); got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" {
			t.Fatalf("job %s after the outage: %s archive %q", id, got.Storage(), got.ArchiveID())
		}
	}
}

// allJobs is every job in the store, oldest first.
func (w *world) allJobs() []*domain.Job {
	w.t.Helper()
	var all []*domain.Job
	if err := w.jobStore.Scan(w.ctx, func(j *domain.Job) error { all = append(all, j); return nil }); err != nil {
		w.t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b *domain.Job) int { return a.SubmittedAt().Compare(b.SubmittedAt()) })
	return all
}
