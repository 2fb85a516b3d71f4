package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// The result event of a finished job is lost: one reconciliation later its
// owner has been told, once.
func TestReconcileSendsALostNotice(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	if n := w.drop(qNotify); n != 1 {
		t.Fatalf("dropped %d result events, want 1", n)
	}
	rep := w.afterFault()
	wantFound(t, rep, workers.FindingNoticeUnsent, 1)
	if got := w.job(j.ID()); !got.Notified() || len(w.outbox.SentTo("ada")) != 1 {
		t.Fatalf("notified %v, %d e-mails", got.Notified(), len(w.outbox.SentTo("ada")))
	}
	if again := w.afterFault(); again.Total() != 0 {
		t.Fatalf("a converged system has findings: %+v", again)
	}
}

// A runner dies mid-run and its request is lost with it: the job would stay
// RUNNING forever. One reconciliation later it has run again, its lost run
// charged; with no attempt left it is FAILED and its owner told.
func TestReconcileTakesBackAJobFromADeadWorker(t *testing.T) {
	for _, last := range []bool{false, true} {
		w := newWorld(t)
		w.signIn("ada")
		if last {
			w.policy.MaxAttempts, w.cfg.Policy.MaxAttempts = 1, 1
		}
		j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := w.receive(qAnnotate)
		if err := w.ports(newInjector(3, 0)).handler(qAnnotate)(w.ctx, m); !errors.Is(err, errCrash) {
			t.Fatalf("crash: %v", err)
		}
		if err := w.queues[qAnnotate].Delete(w.ctx, m.Receipt); err != nil { // lost with its worker
			t.Fatal(err)
		}
		w.clock.Advance(w.policy.Lease) // the fault "clears" when the lease lapses
		rep := w.afterFault()
		wantFound(t, rep, workers.FindingLeaseExpired, 1)
		got := w.job(j.ID())
		switch {
		case !last && (got.Status() != domain.StatusCompleted || got.Attempts() != 2):
			t.Fatalf("after reconciling: %s with %d attempts, want COMPLETED with 2", got.Status(), got.Attempts())
		case last && (got.Status() != domain.StatusFailed || !got.FailedByService() || !got.Notified()):
			t.Fatalf("on its last attempt: %s (failed by the service %v, notified %v)", got.Status(), got.FailedByService(), got.Notified())
		}
	}
}

// The archive request of a free user's result is lost: one reconciliation
// after the window it is archived.
func TestReconcileArchivesWhatALostRequestLeftHot(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.settle()
	w.clock.Advance(w.policy.FreeWindow + time.Second)
	if n := w.drop(qArchive); n != 1 {
		t.Fatalf("dropped %d archive requests, want 1", n)
	}
	rep := w.afterFault()
	wantFound(t, rep, workers.FindingArchiveOverdue, 1)
	if got := w.job(j.ID()); got.Storage() != domain.StorageArchived {
		t.Fatalf("after reconciling: %s", got.Storage())
	}
	assertResultKept(t, w, j.ID())
}

// A restore whose retrieval cold storage forgot, with its checks lost: one
// reconciliation after it was due, a new retrieval is started and the job
// restored. A restorer that died between restoring and deleting the archive
// copy, its message lost, is finished too.
func TestReconcileFinishesStuckRestores(t *testing.T) {
	w := newWorld(t)
	j := archived(t, w)
	w.mustDeliver(qThaw)
	first := w.job(j.ID())
	w.archive.forget(first.RetrievalID())
	w.drop(qRestore)
	w.clock.Advance(w.policy.ExpeditedRestore)
	w.drop(qRestore) // the completion notice too
	rep := w.afterFault()
	wantFound(t, rep, workers.FindingRestoreOverdue, 1)
	got := w.job(j.ID())
	if got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" || w.archive.count() != 0 {
		t.Fatalf("after reconciling: %s archive %q, %d copies", got.Storage(), got.ArchiveID(), w.archive.count())
	}
	assertResultKept(t, w, j.ID())

	// The restorer dies after recording the restore, before the copy goes.
	w = newWorld(t)
	k := archived(t, w)
	w.mustDeliver(qThaw)
	w.clock.Advance(w.policy.ExpeditedRestore)
	m, ok := w.receive(qRestore)
	if !ok {
		t.Fatal("no restore message")
	}
	crash := newInjector(0, 0)
	crash.failOn = "archive.Delete"
	_ = w.ports(crash).handler(qRestore)(w.ctx, m)
	if got := w.job(k.ID()); got.Storage() != domain.StorageAvailable || got.ArchiveID() == "" {
		t.Fatalf("after the crash: %s archive %q", got.Storage(), got.ArchiveID())
	}
	w.drop(qRestore)
	w.queues[qRestore].Delete(w.ctx, m.Receipt)
	rep = w.afterFault()
	wantFound(t, rep, workers.FindingArchiveCopyLeft, 1)
	if got := w.job(k.ID()); got.ArchiveID() != "" || w.archive.count() != 0 {
		t.Fatalf("copy left: archive %q, %d copies", got.ArchiveID(), w.archive.count())
	}
}

// A dry run reports what it would repair and changes nothing.
func TestReconcileDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.drop(qNotify)
	w.clock.Advance(w.cfg.ReconcileGrace + time.Second)
	before := w.job(j.ID()).Version()
	rep := w.reconcile(true)
	wantFound(t, rep, workers.FindingNoticeUnsent, 1)
	if w.pending() != 1 || w.job(j.ID()).Version() != before { // the archive request only
		t.Fatalf("a dry run sent %d messages or wrote the job", w.pending()-1)
	}
}

// A backlog is not a loss: PENDING jobs idle for a grace whose requests
// all wait in the annotate queue are not requested again.
func TestReconcileLeavesABacklogAlone(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	for i := range 3 {
		if _, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(i))); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(w.cfg.ReconcileGrace + time.Second)
	rep := w.reconcile(false)
	if rep.Found[workers.FindingUnrequested] != 0 || rep.Deferred != 3 || w.stats(qAnnotate).Visible != 3 {
		t.Fatalf("backlog: %+v, %d requests queued", rep, w.stats(qAnnotate).Visible)
	}
	w.drop(qAnnotate)
	rep = w.afterFault()
	wantFound(t, rep, workers.FindingUnrequested, 3)
	for _, j := range w.allJobs() {
		if j.Status() != domain.StatusCompleted {
			t.Fatalf("job %s %s", j.ID(), j.Status())
		}
	}
}

// A permanent refusal by the mail service (SES MessageRejected) is recorded
// on the job and not retried.
func TestRejectedNoticeIsRecordedNotRetried(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	m, _ := w.receive(qNotify)
	p := w.ports(nil)
	sends := 0
	p.mailer = mailerFunc(func(context.Context, ports.Email) error {
		sends++
		return &ports.RejectedError{Reason: "Email address is not verified."}
	})
	if err := p.handler(qNotify)(w.ctx, m); err != nil {
		t.Fatalf("a refused e-mail was not acknowledged: %v", err)
	}
	got := w.job(j.ID())
	if !got.Notified() || got.NoticeError() != "Email address is not verified." || sends != 1 {
		t.Fatalf("notified %v, error %q, %d sends", got.Notified(), got.NoticeError(), sends)
	}
	if rep := w.afterFault(); rep.Total() != 0 || len(w.outbox.Sent()) != 0 {
		t.Fatalf("a refused notice was sent again: %+v", rep)
	}
}

type mailerFunc func(context.Context, ports.Email) error

func (f mailerFunc) Send(ctx context.Context, e ports.Email) error { return f(ctx, e) }

// A long job outlives SQS's 12-hour visibility cap: before it, the runner
// hands its request over to a fresh copy and goes on; the job completes
// once, and the copy finds it done.
func TestLongJobHandsItsRequestOver(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	w.cfg.Heartbeat = 2 * time.Millisecond
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	handed := make(chan ports.QueueStats, 1)
	w.annotator.during = func(ctx context.Context, _ string) error {
		w.clock.Advance(workers.DefaultMaxHold + time.Minute) // 11 hours of annotation
		deadline := time.Now().Add(5 * time.Second)
		st := w.stats(qAnnotate)
		for ; st.Delayed == 0 && time.Now().Before(deadline); st = w.stats(qAnnotate) { // until the copy is sent
			time.Sleep(time.Millisecond)
		}
		handed <- st
		w.clock.Advance(2 * time.Hour) // past 12 h from the receipt
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	m, _ := w.receive(qAnnotate)
	if err := w.ports(nil).handler(qAnnotate)(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	if st := <-handed; st.Delayed != 1 || st.InFlight != 0 || st.Visible != 0 {
		t.Fatalf("at 11 h the request should be a delayed copy, its delivery gone: %+v", st)
	}
	w.annotator.during = nil
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted || got.Attempts() != 1 {
		t.Fatalf("long job: %s after %d attempts", got.Status(), got.Attempts())
	}
	w.settleWithTime()
	if got := w.job(j.ID()); w.jobStore.completions[j.ID()] != 1 || got.Attempts() != 1 || w.stats(dlq(qAnnotate)).Visible != 0 {
		t.Fatalf("after the copy: completed %d times, %d attempts", w.jobStore.completions[j.ID()], got.Attempts())
	}
}

// A dead-lettered request of a job still running under a live lease (a
// long job) is never FAILED: it is looked at again when the lease lapses.
func TestDeadLettersNeverFailARunningJob(t *testing.T) {
	w := newWorld(t)
	j := uploaded(t, w, "ada")
	m, _ := w.receive(qAnnotate)
	if err := w.ports(newInjector(3, 0)).handler(qAnnotate)(w.ctx, m); !errors.Is(err, errCrash) {
		t.Fatalf("crash: %v", err)
	}
	body := message.JobRequest(j.ID(), "ada")
	body.Redrives = w.cfg.MaxRedrives // its budget spent
	if err := w.queues[dlq(qAnnotate)].Send(w.ctx, ports.Outgoing{Body: body.Encode(), Group: body.Group()}); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(dlq(qAnnotate))
	if got := w.job(j.ID()); got.Status() != domain.StatusRunning {
		t.Fatalf("a running job was %s by the dead-letter handler", got.Status())
	}
}

// Two deliveries restore one job at once (a completion notice and a check):
// the one that finds the job already restored, and its archive copy
// already forgotten, finishes without an error.
func TestConcurrentRestoresConverge(t *testing.T) {
	w := newWorld(t)
	j := archived(t, w)
	w.mustDeliver(qThaw)
	w.clock.Advance(w.policy.ExpeditedRestore)
	svcA := w.ports(nil)
	gate := make(chan struct{})
	held := make(chan struct{})
	gets := 0
	svcA.jobs = &gatedJobs{JobStore: w.jobStore, before: func() {
		if gets++; gets == 2 { // A's second read: the record of its restore
			close(held)
			<-gate
		}
	}}
	done := make(chan error, 1)
	go func() { done <- svcA.archival().Restore(w.ctx, j.ID()) }()
	<-held
	if err := w.ports(nil).archival().Restore(w.ctx, j.ID()); err != nil { // B restores and cleans up
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("the second restore failed: %v", err)
	}
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" {
		t.Fatalf("after both: %s archive %q", got.Storage(), got.ArchiveID())
	}
}

// gatedJobs runs before ahead of every Get.
type gatedJobs struct {
	ports.JobStore
	before func()
}

func (g *gatedJobs) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	g.before()
	return g.JobStore.Get(ctx, id)
}

// runningElsewhere is cold storage with an Expedited retrieval of every
// archive already running (started by an attempt that died): whatever tier
// is asked for, the retrieval runs at Expedited.
type runningElsewhere struct{ ports.Archive }

func (r runningElsewhere) InitiateRestore(ctx context.Context, id string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	started, err := r.Archive.InitiateRestore(ctx, id, tier)
	started.Tier = domain.RetrievalExpedited
	return started, err
}

// The tier a job records, shown to its owner and waited for by the
// reconciler, is the one cold storage runs, not the one asked for.
func TestRestoreRecordsTheTierRunning(t *testing.T) {
	w := newWorld(t)
	j := archived(t, w)
	w.archive.mem.RefuseExpedited(true) // so the thaw asks for Standard
	m, _ := w.receive(qThaw)
	p := w.ports(nil)
	p.archive = runningElsewhere{w.archive}
	if err := p.handler(qThaw)(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	got := w.job(j.ID())
	if got.RetrievalTier() != domain.RetrievalExpedited || !got.RestoreExpectedBy().Equal(w.clock.Now().Add(w.policy.ExpeditedRestore)) {
		t.Fatalf("recorded %s expected by %s, want the Expedited one running", got.RetrievalTier(), got.RestoreExpectedBy())
	}
}
