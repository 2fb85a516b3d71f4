package workers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// upload submits input i for user through the streaming path and runs it.
func (w *world) uploadAndRun(user string, i int) *domain.Job {
	w.t.Helper()
	j, err := w.jobsSvc.Upload(w.ctx, domain.UserID(user), fmt.Sprintf("sample%d.vcf", i), strings.NewReader(inputFor(i)))
	if err != nil {
		w.t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	done := w.job(j.ID())
	if done.Status() != domain.StatusCompleted || done.Storage() != domain.StorageAvailable {
		w.t.Fatalf("job %s after run: %s/%s (%s)", j.ID(), done.Status(), done.Storage(), done.FailureReason())
	}
	return done
}

// archiveAll moves time past the free window and runs the archiver.
func (w *world) passWindowAndArchive() {
	w.t.Helper()
	w.clock.Advance(w.policy.FreeWindow + time.Second)
	for {
		ok, err := w.deliver(qArchive)
		if err != nil {
			w.t.Fatal(err)
		}
		if !ok {
			return
		}
	}
}

func (w *world) decision(user string, id domain.JobID) domain.DownloadDecision {
	w.t.Helper()
	_, d, err := w.jobsSvc.Download(w.ctx, domain.UserID(user), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

func TestFreeResultDownloadableInsideWindowThenArchived(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	keys := j.Results()
	if got, ok := w.object(keys.VCF); !ok || got != annotated(inputFor(1)) {
		t.Fatalf("hot result %q (exists %v)", got, ok)
	}
	d := w.decision("ada", j.ID())
	if d.State != domain.DownloadAllowed || !d.ArchiveAt.Equal(j.CompletedAt().Add(w.policy.FreeWindow)) {
		t.Fatalf("inside the window: %+v", d)
	}
	if _, err := w.jobsSvc.DownloadURL(w.ctx, j, d); err != nil {
		t.Fatalf("download URL inside the window: %v", err)
	}
	if s := w.stats(qArchive); s.Delayed != 1 || s.Visible != 0 {
		t.Fatalf("archive request should wait for the window: %+v", s)
	}

	// Just before the window ends nothing happens.
	w.clock.Advance(w.policy.FreeWindow - time.Second)
	if ok, _ := w.deliver(qArchive); ok {
		t.Fatal("archive request delivered inside the window")
	}
	if w.decision("ada", j.ID()).State != domain.DownloadAllowed {
		t.Fatal("result not downloadable inside the window")
	}

	// Record the order of the archive-id write and the hot-copy delete.
	var events []string
	w.jobStore.onUpdate = func(before, after domain.JobSnapshot) {
		if after.Storage == domain.StorageArchived && before.Storage != domain.StorageArchived {
			events = append(events, "recorded ARCHIVED "+after.ArchiveID)
		}
	}
	before := w.archive.count()
	w.clock.Advance(2 * time.Second)
	m, ok := w.receive(qArchive)
	if !ok {
		t.Fatal("archive request not delivered after the window")
	}
	p := w.ports(newInjector(0, 0))
	h := p.handler(qArchive)
	if err := h(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, c := range p.inj.log {
		if strings.HasPrefix(c, "objects.Delete") || strings.HasPrefix(c, "jobs.Update") {
			events = append(events, c)
		}
	}
	// The injector log has the Update before the Deletes; the store hook
	// proves the Update was the ARCHIVED record.
	if len(events) != 4 || !strings.HasPrefix(events[0], "recorded ARCHIVED") || events[1] != "jobs.Update" ||
		events[2] != "objects.Delete "+keys.VCF || events[3] != "objects.Delete "+keys.Index {
		t.Fatalf("archive steps out of order: %q", events)
	}

	j = w.job(j.ID())
	if j.Storage() != domain.StorageArchived || j.ArchiveID() == "" || w.archive.count() != before+1 {
		t.Fatalf("after the window: %s archive %q", j.Storage(), j.ArchiveID())
	}
	if _, ok := w.object(keys.VCF); ok {
		t.Fatal("hot copy kept after archiving")
	}
	for _, k := range []string{keys.Summary, keys.Log} {
		if _, ok := w.object(k); !ok {
			t.Fatalf("%s should stay hot for the job page", k)
		}
	}
	files, ok := w.archive.bundle(j.ArchiveID())
	if !ok || files[jobs.ResultVCFName] != annotated(inputFor(1)) {
		t.Fatalf("archive bundle %v", files)
	}
	d = w.decision("ada", j.ID())
	if d.State != domain.DownloadUpgradeRequired {
		t.Fatalf("archived: %+v", d)
	}
	if _, err := w.jobsSvc.DownloadURL(w.ctx, j, d); !errors.Is(err, jobs.ErrNotDownloadable) {
		t.Fatalf("download URL of archived result: %v", err)
	}
	// A duplicate delivery changes nothing.
	if err := w.archival().Archive(w.ctx, j.ID()); err != nil {
		t.Fatal(err)
	}
	if again := w.job(j.ID()); again.Version() != j.Version() || w.archive.count() != before+1 {
		t.Fatal("duplicate archive delivery changed the job or the archive")
	}
}

func (w *world) archival() interface {
	Archive(context.Context, domain.JobID) error
	Thaw(context.Context, domain.UserID) error
	Restore(context.Context, domain.JobID) error
} {
	return w.ports(nil).archival()
}

// A crash at every step of archiving leaves the result hot or archived,
// never neither, and the redelivery finishes the job.
func TestArchiveCrashAtEveryStep(t *testing.T) {
	for failAt := 1; ; failAt++ {
		w := newWorld(t)
		w.signIn("ada")
		j := w.uploadAndRun("ada", 1)
		w.clock.Advance(w.policy.FreeWindow + time.Second)
		m, ok := w.receive(qArchive)
		if !ok {
			t.Fatal("no archive request")
		}
		inj := newInjector(failAt, 0)
		err := w.ports(inj).handler(qArchive)(w.ctx, m)
		if !inj.dead {
			if err != nil {
				t.Fatal(err)
			}
			if failAt < 6 {
				t.Fatalf("archiving made only %d port calls", inj.count())
			}
			return // every crash point was tried
		}
		assertResultKept(t, w, j.ID())
		// The message was not acknowledged: it comes back and completes.
		w.clock.Advance(w.cfg.Visibility)
		w.mustDeliver(qArchive)
		got := w.job(j.ID())
		if got.Storage() != domain.StorageArchived {
			t.Fatalf("crash before call %d: after redelivery %s", failAt, got.Storage())
		}
		if _, ok := w.object(j.Results().VCF); ok {
			t.Fatalf("crash before call %d: hot copy left behind", failAt)
		}
		assertResultKept(t, w, j.ID())
	}
}

// assertResultKept: a COMPLETED job's result is hot or in the archive.
func assertResultKept(t testing.TB, w *world, id domain.JobID) {
	t.Helper()
	if err := resultKept(w, w.job(id)); err != nil {
		t.Fatal(err)
	}
}

func resultKept(w *world, j *domain.Job) error {
	if j.Status() != domain.StatusCompleted {
		return nil
	}
	want := annotated(w.inputOf(j))
	switch j.Storage() {
	case domain.StorageAvailable:
		got, ok := w.object(j.Results().VCF)
		if !ok || got != want {
			return fmt.Errorf("job %s is AVAILABLE but its hot result is %q (exists %v)", j.ID(), got, ok)
		}
	case domain.StorageArchived, domain.StorageRestoring:
		files, ok := w.archive.bundle(j.ArchiveID())
		if !ok || files[jobs.ResultVCFName] != want {
			return fmt.Errorf("job %s is %s but archive %q holds %v (exists %v)", j.ID(), j.Storage(), j.ArchiveID(), files, ok)
		}
	default:
		return fmt.Errorf("job %s is COMPLETED without storage state", j.ID())
	}
	return nil
}

// inputOf reads the job's input back from storage.
func (w *world) inputOf(j *domain.Job) string {
	in, ok := w.object(j.InputKey())
	if !ok {
		w.t.Fatalf("input of %s missing", j.ID())
	}
	return in
}

func TestUpgradeRestoresEveryArchivedJobExpedited(t *testing.T) {
	testUpgradeRestores(t, false)
}

func TestUpgradeRestoresWithStandardWhenExpeditedRefused(t *testing.T) {
	testUpgradeRestores(t, true)
}

func testUpgradeRestores(t *testing.T, refuseExpedited bool) {
	w := newWorld(t)
	w.signIn("ada")
	w.archive.mem.RefuseExpedited(refuseExpedited)
	var ids []domain.JobID
	var oldKeys []domain.ResultKeys
	for i := range 3 {
		j := w.uploadAndRun("ada", i)
		ids = append(ids, j.ID())
		oldKeys = append(oldKeys, j.Results())
	}
	w.passWindowAndArchive()
	for _, id := range ids {
		if w.job(id).Storage() != domain.StorageArchived {
			t.Fatalf("job %s not archived", id)
		}
	}
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	upgradedAt := w.clock.Now()
	w.mustDeliver(qThaw)

	tier, wait := domain.RetrievalExpedited, w.policy.ExpeditedRestore
	if refuseExpedited {
		tier, wait = domain.RetrievalStandard, w.policy.StandardRestore
	}
	for _, id := range ids {
		j := w.job(id)
		if j.Storage() != domain.StorageRestoring || j.RetrievalTier() != tier || !j.RestoreExpectedBy().Equal(upgradedAt.Add(wait)) {
			t.Fatalf("job %s after thaw: %s tier %s expected %s", id, j.Storage(), j.RetrievalTier(), j.RestoreExpectedBy())
		}
		d := w.decision("ada", id)
		if d.State != domain.DownloadRestoring || d.Tier != tier || !d.ExpectedBy.Equal(upgradedAt.Add(wait)) {
			t.Fatalf("decision while restoring: %+v", d)
		}
	}
	// An early completion notification is harmless: the retrieval is not done.
	if err := w.queues[qRestore].Send(w.ctx, ports.Outgoing{Body: message.RestoreCompleted(ids[0]).Encode()}); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qRestore)
	if w.job(ids[0]).Storage() != domain.StorageRestoring {
		t.Fatal("restored before the retrieval finished")
	}
	// Checks are scheduled for when the retrieval is expected; with long
	// waits they are re-delayed in 15-minute hops. Drive time until done.
	for step := 0; step < 100 && w.pending() > 0; step++ {
		w.clock.Advance(10 * time.Minute)
		w.settle()
	}
	if w.pending() != 0 {
		t.Fatal("restore checks never finished")
	}
	for i, id := range ids {
		j := w.job(id)
		if j.Storage() != domain.StorageAvailable || j.ArchiveID() != "" {
			t.Fatalf("job %s after restore: %s archive %q", id, j.Storage(), j.ArchiveID())
		}
		if j.Results().VCF == oldKeys[i].VCF || j.Results().Summary != oldKeys[i].Summary {
			t.Fatalf("restored keys %+v (old %+v)", j.Results(), oldKeys[i])
		}
		assertResultKept(t, w, id)
		if d := w.decision("ada", id); d.State != domain.DownloadAllowed || !d.ArchiveAt.IsZero() {
			t.Fatalf("decision after restore: %+v", d)
		}
	}
	if n := w.archive.count(); n != 0 {
		t.Fatalf("%d archive copies left after restore", n)
	}
}

// Upgrade while the job runs: its completion schedules no archive, and the
// result stays hot long after the free window.
func TestUpgradeDuringRunningJobMeansNoArchive(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	w.annotator.during = func(ctx context.Context, _ string) error {
		_, err := w.accounts.Upgrade(ctx, "ada")
		return err
	}
	j := w.uploadAndRun("ada", 1)
	if s := w.stats(qArchive); s.Delayed+s.Visible != 0 {
		t.Fatalf("archive scheduled for a premium user's job: %+v", s)
	}
	w.clock.Advance(10 * w.policy.FreeWindow)
	w.settle()
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable {
		t.Fatalf("premium job %s", got.Storage())
	}
	assertResultKept(t, w, j.ID())
}

// Upgrade after completion but before the window ends: the archiver re-reads
// the owner and keeps the result hot.
func TestUpgradeInsideWindowSkipsArchive(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	w.passWindowAndArchive()
	w.settle()
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || w.archive.count() != 0 {
		t.Fatalf("after window: %s, %d archives", got.Storage(), w.archive.count())
	}
}

// Upgrade while the archive copy is being written: the thaw finds nothing
// archived yet, but the archiver re-reads the owner and restores.
func TestUpgradeDuringInFlightArchiveEndsRestored(t *testing.T) {
	for _, when := range []string{"during archive upload", "during archive upload, thaw delayed", "after archive recorded"} {
		t.Run(when, func(t *testing.T) {
			w := newWorld(t)
			w.signIn("ada")
			j := w.uploadAndRun("ada", 1)
			upgrade := func() {
				if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
					t.Fatal(err)
				}
				w.mustDeliver(qThaw) // the thawer runs at once, concurrently
			}
			switch when {
			case "during archive upload":
				w.archive.onPut = func(string) { w.archive.onPut = nil; upgrade() }
			case "during archive upload, thaw delayed":
				// Only the archiver's re-read of the owner (protocol step 4)
				// can notice this upgrade in time.
				w.archive.onPut = func(string) {
					w.archive.onPut = nil
					if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
						t.Fatal(err)
					}
				}
			default:
				w.jobStore.onUpdate = func(_, after domain.JobSnapshot) {
					if after.Storage == domain.StorageArchived {
						w.jobStore.onUpdate = nil
						upgrade()
					}
				}
			}
			w.passWindowAndArchive()
			got := w.job(j.ID())
			if when == "during archive upload" {
				// The thaw fenced the job: the archiver's record fails, it
				// re-reads the owner and gives up; the result never leaves
				// hot storage. Its unrecorded copy is left in cold storage
				// (deleting it could race another archiver of the same key).
				if got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" || w.archive.count() != 1 {
					t.Fatalf("after the archive: %s %q, %d archive copies", got.Storage(), got.ArchiveID(), w.archive.count())
				}
			} else if got.Storage() != domain.StorageRestoring || got.RetrievalTier() != domain.RetrievalExpedited {
				// Recorded before the thaw looked: the archiver's re-read
				// of the owner (or the thaw) starts the restore at once.
				t.Fatalf("after the archive: %s (%s)", got.Storage(), got.RetrievalTier())
			}
			for step := 0; step < 10 && w.pending() > 0; step++ {
				w.clock.Advance(w.policy.ExpeditedRestore)
				w.settle()
			}
			got = w.job(j.ID())
			leftover := 0
			if when == "during archive upload" {
				leftover = 1
			}
			if got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" || w.archive.count() != leftover {
				t.Fatalf("end: %s archive %q, %d archive copies", got.Storage(), got.ArchiveID(), w.archive.count())
			}
			assertResultKept(t, w, j.ID())
		})
	}
}

// A free user's result e-mail links the job and warns of the window.
func TestNotifierSendsLinkAndSummary(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.mustDeliver(qNotify)
	sent := w.outbox.SentTo("ada")
	if len(sent) != 1 {
		t.Fatalf("%d e-mails", len(sent))
	}
	e := sent[0]
	for _, want := range []string{"https://gas.test/jobs/" + string(j.ID()), "sample1.vcf", "missense_variant: 1", "cold storage"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("e-mail text lacks %q:\n%s", want, e.Text)
		}
	}
	if !strings.Contains(e.Subject, "completed") || !strings.Contains(e.HTML, `href="https://gas.test/jobs/`+string(j.ID())) {
		t.Errorf("subject %q html %q", e.Subject, e.HTML)
	}
}
