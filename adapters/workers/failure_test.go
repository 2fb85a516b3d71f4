package workers_test

import (
	"bytes"
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

func TestBadInputFailsPermanentlyWithReason(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "bad.vcf", strings.NewReader("NOT-A-VCF\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	got := w.job(j.ID())
	if got.Status() != domain.StatusFailed || got.FailureReason() != "line 1: missing #CHROM header" || got.Attempts() != 1 {
		t.Fatalf("bad input: %s %q attempts %d", got.Status(), got.FailureReason(), got.Attempts())
	}
	if s := w.stats(qAnnotate); s.Visible+s.InFlight+s.Delayed != 0 {
		t.Fatalf("request not acknowledged: %+v", s)
	}
	w.mustDeliver(qNotify)
	if e := w.outbox.SentTo("ada"); len(e) != 1 || !strings.Contains(e[0].Text, "missing #CHROM header") || !strings.Contains(e[0].Subject, "failed") {
		t.Fatalf("failure e-mail %+v", e)
	}
}

func TestTransientFailuresRetryThenFail(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	w.annotator.during = func(context.Context, string) error { return errors.New("engine hiccup") }
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= w.policy.MaxAttempts; attempt++ {
		ok, err := w.deliver(qAnnotate)
		if !ok {
			t.Fatalf("attempt %d: request not redelivered", attempt)
		}
		got := w.job(j.ID())
		if attempt < w.policy.MaxAttempts {
			if err == nil || got.Status() != domain.StatusPending || got.Attempts() != attempt {
				t.Fatalf("attempt %d: err %v status %s attempts %d", attempt, err, got.Status(), got.Attempts())
			}
			if s := w.stats(qAnnotate); s.InFlight != 1 {
				t.Fatalf("attempt %d: request should wait for its backoff: %+v", attempt, s)
			}
			w.clock.Advance(time.Minute)
			continue
		}
		if err != nil || got.Status() != domain.StatusFailed || got.FailureReason() == "" {
			t.Fatalf("last attempt: err %v status %s reason %q", err, got.Status(), got.FailureReason())
		}
	}
	if w.stats(qAnnotate) != (ports.QueueStats{}) {
		t.Fatal("request not acknowledged after the last attempt")
	}
}

// A request that keeps failing before the runner can record anything goes
// to the dead-letter queue, and the job is FAILED with a reason in words.
func TestDeadLetteredRequestFailsJob(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxReceives; i++ {
		m, ok := w.receive(qAnnotate)
		if !ok {
			t.Fatalf("delivery %d missing", i+1)
		}
		if err := w.ports(newInjector(1, 0)).handler(qAnnotate)(w.ctx, m); !errors.Is(err, errCrash) {
			t.Fatalf("crashed delivery: %v", err)
		}
		w.clock.Advance(w.cfg.Visibility)
	}
	if ok, _ := w.deliver(qAnnotate); ok {
		t.Fatal("request delivered more than the dead-letter limit")
	}
	w.mustDeliver(dlq(qAnnotate))
	got := w.job(j.ID())
	if got.Status() != domain.StatusFailed || !strings.Contains(got.FailureReason(), "Please submit the file again") {
		t.Fatalf("dead-lettered job: %s %q", got.Status(), got.FailureReason())
	}
	w.mustDeliver(qNotify)
	if len(w.outbox.SentTo("ada")) != 1 {
		t.Fatal("user not told of the failure")
	}
}

// A runner that dies holding the lease: a redelivery before the lease
// lapses leaves the job alone; after, it takes the job over.
func TestLeaseTakeoverAfterWorkerDies(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := w.receive(qAnnotate)
	// Die right after the claim was written (calls: Get, Update, then Get input).
	inj := newInjector(3, 0)
	if err := w.ports(inj).handler(qAnnotate)(w.ctx, m); !errors.Is(err, errCrash) {
		t.Fatalf("crash: %v", err)
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusRunning {
		t.Fatalf("after crash: %s", got.Status())
	}
	// A duplicate request arrives while the lease is live.
	if err := w.queues[qAnnotate].Send(w.ctx, ports.Outgoing{Body: message.JobRequest(j.ID(), "ada").Encode()}); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	if got := w.job(j.ID()); got.Status() != domain.StatusRunning || got.Attempts() != 1 || w.annotator.runs != 0 {
		t.Fatalf("live lease was not respected: %s attempts %d runs %d", got.Status(), got.Attempts(), w.annotator.runs)
	}
	w.clock.Advance(w.policy.Lease + time.Second)
	w.settle()
	got := w.job(j.ID())
	if got.Status() != domain.StatusCompleted || got.Attempts() != 2 || w.annotator.runs != 1 {
		t.Fatalf("after takeover: %s attempts %d runs %d", got.Status(), got.Attempts(), w.annotator.runs)
	}
	assertResultKept(t, w, j.ID())
	if n := w.jobStore.completions[j.ID()]; n != 1 {
		t.Fatalf("completed %d times", n)
	}
}

// A worker paused past its lease (a zombie) cannot complete the job after
// another worker took it over, and its outputs are discarded.
func TestZombieRunnerIsFencedOut(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := w.receive(qAnnotate)
	// Park the first worker before its Complete write (Get, Update, Get input, Put VCF, Put index, Put summary, Put log, Update).
	inj := newInjector(0, 8)
	done := make(chan error, 1)
	go func() { done <- w.ports(inj).handler(qAnnotate)(w.ctx, m) }()
	<-inj.parked
	zombieKeys := jobs.ResultKeys("results/", "ada", j.ID(), fmt.Sprintf("v%d", w.job(j.ID()).Version()))
	w.clock.Advance(w.cfg.Visibility + time.Second) // lease and visibility lapse
	w.mustDeliver(qAnnotate)                        // another worker takes over and completes
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted || got.Results().VCF == zombieKeys.VCF {
		t.Fatalf("takeover: %s %s", got.Status(), got.Results().VCF)
	}
	inj.resume <- true
	if err := <-done; err == nil || !strings.Contains(err.Error(), "lease lost") {
		t.Fatalf("zombie should give up without acknowledging: %v", err)
	}
	if n := w.jobStore.completions[j.ID()]; n != 1 {
		t.Fatalf("completed %d times", n)
	}
	if _, ok := w.object(zombieKeys.VCF); ok {
		t.Fatal("zombie's output left behind")
	}
	assertResultKept(t, w, j.ID())
	// Its delivery comes back, finds the job done and is acknowledged.
	w.clock.Advance(w.cfg.RetryDelay)
	w.settle()
	if s := w.stats(qAnnotate); s != (ports.QueueStats{}) || w.jobStore.completions[j.ID()] != 1 {
		t.Fatalf("after redelivery: annotate queue %+v, %d completions", s, w.jobStore.completions[j.ID()])
	}
}

// Free windows longer than a queue's maximum delay are re-delayed until due.
func TestLongWindowIsRedelayed(t *testing.T) {
	w := newWorld(t)
	w.policy.FreeWindow = time.Hour
	w.cfg.Policy = w.policy
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	hops := 0
	for w.job(j.ID()).Storage() == domain.StorageAvailable {
		w.clock.Advance(message.MaxDelay)
		if ok, err := w.deliver(qArchive); err != nil || !ok {
			t.Fatalf("hop %d: delivered %v err %v", hops, ok, err)
		}
		hops++
		if w.clock.Now().Before(j.CompletedAt().Add(time.Hour)) && w.job(j.ID()).Storage() != domain.StorageAvailable {
			t.Fatal("archived before the window ended")
		}
	}
	if hops != 4 {
		t.Fatalf("archived after %d hops of 15 minutes, want 4", hops)
	}
}

// A retrieval whose bytes do not match what was archived is refused: the
// job stays RESTORING, pointing at its old keys, and the archive copy is kept.
func TestCorruptRetrievalIsRefused(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.passWindowAndArchive()
	archived := w.job(j.ID())
	// Flip the content of the archived VCF in place, keeping its recorded checksum.
	w.archive.mu.Lock()
	b := bytes.Clone(w.archive.live[archived.ArchiveID()])
	w.archive.mu.Unlock()
	i := bytes.Index(b, []byte("1\t1001"))
	if i < 0 {
		t.Fatal("archived VCF not found in bundle")
	}
	b[i] = '2'
	if _, err := w.archive.Put(w.ctx, archived.ArchiveID(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	w.accounts.Upgrade(w.ctx, "ada")
	w.mustDeliver(qThaw)
	w.clock.Advance(w.policy.ExpeditedRestore)
	ok, err := w.deliver(qRestore)
	if !ok || !errors.Is(err, ports.ErrChecksum) {
		t.Fatalf("restore of corrupt bytes: delivered %v, %v", ok, err)
	}
	got := w.job(j.ID())
	if got.Storage() != domain.StorageRestoring || got.ArchiveID() != archived.ArchiveID() {
		t.Fatalf("after refused restore: %s %q", got.Storage(), got.ArchiveID())
	}
	if got.Results() != archived.Results() {
		t.Fatalf("job points at the refused bytes: %+v", got.Results())
	}
	if _, ok := w.archive.bundle(archived.ArchiveID()); !ok {
		t.Fatal("archive copy deleted after a refused restore")
	}
}

func TestMissingInputFailsWithReason(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if err := w.objects.Delete(w.ctx, j.InputKey()); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	if got := w.job(j.ID()); got.Status() != domain.StatusFailed || !strings.Contains(got.FailureReason(), "no longer stored") {
		t.Fatalf("%s %q", got.Status(), got.FailureReason())
	}
}

// Cold storage forgets a retrieval in flight (its restored copy expired, or
// the retrieval was lost): the restorer starts a new one, Expedited or
// Standard when Expedited is refused, instead of leaving the job RESTORING
// for ever, and the results come back.
func TestForgottenRetrievalIsStartedAgain(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refuse expedited %v", refuse), func(t *testing.T) {
			w := newWorld(t)
			j := archived(t, w)
			w.mustDeliver(qThaw)
			first := w.job(j.ID())
			if first.Storage() != domain.StorageRestoring || first.RetrievalTier() != domain.RetrievalExpedited {
				t.Fatalf("after thaw: %s %s", first.Storage(), first.RetrievalTier())
			}
			w.archive.forget(first.RetrievalID())
			w.archive.mem.RefuseExpedited(refuse)
			w.clock.Advance(w.policy.ExpeditedRestore)
			w.mustDeliver(qRestore) // the completion notice or the check finds it forgotten
			again := w.job(j.ID())
			tier := domain.RetrievalExpedited
			if refuse {
				tier = domain.RetrievalStandard
			}
			if again.Storage() != domain.StorageRestoring || again.RetrievalID() == first.RetrievalID() ||
				again.RetrievalTier() != tier || again.ArchiveID() != first.ArchiveID() {
				t.Fatalf("after the lapse: %s retrieval %q (was %q) tier %s", again.Storage(), again.RetrievalID(), first.RetrievalID(), again.RetrievalTier())
			}
			if d := w.decision("ada", j.ID()); d.State != domain.DownloadRestoring || d.Tier != tier {
				t.Fatalf("decision: %+v", d)
			}
			for step := 0; step < 100 && w.pending() > 0; step++ {
				w.clock.Advance(15 * time.Minute)
				w.settle()
			}
			got := w.job(j.ID())
			if got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" || w.archive.count() != 0 {
				t.Fatalf("end: %s archive %q, %d archive copies", got.Storage(), got.ArchiveID(), w.archive.count())
			}
			assertResultKept(t, w, j.ID())
		})
	}
}

// The thawer dies after scheduling the check of its retrieval but before
// recording it, and cold storage forgets that retrieval: the check starts a
// new one instead of failing until dead-lettered.
func TestForgottenUnrecordedRetrievalIsStartedAgain(t *testing.T) {
	w := newWorld(t)
	j := archived(t, w)
	// What the thawer did before it died: initiate, schedule the check.
	started, err := w.archive.InitiateRestore(w.ctx, j.ArchiveID(), domain.RetrievalExpedited)
	if err != nil {
		t.Fatal(err)
	}
	lost := started.ID
	due := w.clock.Now().Add(w.policy.ExpeditedRestore)
	check := message.RetrievalCheck(j.ID(), lost, j.ArchiveID(), domain.RetrievalExpedited, due)
	if err := message.Schedule(w.ctx, w.queues[qRestore], check, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.archive.forget(lost)
	w.clock.Advance(w.policy.ExpeditedRestore)
	for {
		m, ok := w.receive(qRestore)
		if !ok {
			t.Fatal("the check was not delivered")
		}
		if d, _ := message.Decode(m.Body); d.Retrieval != lost {
			continue // the lost retrieval's completion notice: nothing recorded, nothing to do
		}
		if err := w.ports(nil).handler(qRestore)(w.ctx, m); err != nil {
			t.Fatalf("check of the forgotten retrieval: %v", err)
		}
		break
	}
	got := w.job(j.ID())
	if got.Storage() != domain.StorageRestoring || got.RetrievalID() == lost || got.RetrievalID() == "" {
		t.Fatalf("after the check: %s retrieval %q (lost %q)", got.Storage(), got.RetrievalID(), lost)
	}
	for step := 0; step < 100 && w.pending() > 0; step++ {
		w.clock.Advance(15 * time.Minute)
		w.settle()
	}
	if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || got.ArchiveID() != "" {
		t.Fatalf("end: %s archive %q", got.Storage(), got.ArchiveID())
	}
	assertResultKept(t, w, j.ID())
}
