package workers_test

import (
	"testing"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports/message"
)

// After a downgrade the job page, the archive schedule and the plan page's
// promise ("results you already have stay where they are") agree (issue 13
// item 8): a result the owner had while premium is said to be kept and is
// kept, even when an archive request for it arrives (a reconciler's, or
// one scheduled before the upgrade).
func TestDowngradeKeepsResultsHadWhilePremium(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(w *world) *domain.Job
	}{
		{"completed while premium", func(w *world) *domain.Job {
			if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
				t.Fatal(err)
			}
			w.settle()
			return w.uploadAndRun("ada", 1)
		}},
		{"completed free, then upgraded inside the window", func(w *world) *domain.Job {
			j := w.uploadAndRun("ada", 1)
			if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
				t.Fatal(err)
			}
			w.settle() // the thaw
			return j
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.signIn("ada")
			j := c.run(w)
			if _, err := w.accounts.Downgrade(w.ctx, "ada"); err != nil {
				t.Fatal(err)
			}
			if d := w.decision("ada", j.ID()); d.State != domain.DownloadAllowed || !d.ArchiveAt.IsZero() {
				t.Fatalf("job page after the downgrade: %+v, want kept", d)
			}
			if err := message.Schedule(w.ctx, w.queues[qArchive], message.ArchiveJob(j.ID(), w.clock.Now()), w.clock.Now()); err != nil {
				t.Fatal(err)
			}
			w.passWindowAndArchive()
			w.clock.Advance(10 * w.policy.FreeWindow)
			w.settle()
			if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable || w.archive.count() != 0 {
				t.Fatalf("kept result %s, %d archive copies", got.Storage(), w.archive.count())
			}
			assertResultKept(t, w, j.ID())
			if d := w.decision("ada", j.ID()); d.State != domain.DownloadAllowed || !d.ArchiveAt.IsZero() {
				t.Fatalf("job page long after: %+v", d)
			}
		})
	}
}

// A result completed under the free plan keeps the schedule the page
// shows: downloadable until then, archived after, whatever the plan's
// history before completion.
func TestFreeCompletionAfterDowngradeIsArchivedWhenThePageSays(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.accounts.Downgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	j := w.uploadAndRun("ada", 2)
	d := w.decision("ada", j.ID())
	if want := j.CompletedAt().Add(w.policy.FreeWindow); d.State != domain.DownloadAllowed || !d.ArchiveAt.Equal(want) || !j.ArchiveDue().Equal(want) {
		t.Fatalf("free completion: page %+v, schedule %s, want %s", d, j.ArchiveDue(), want)
	}
	w.passWindowAndArchive()
	if got := w.job(j.ID()); got.Storage() != domain.StorageArchived {
		t.Fatalf("after the window the page named: %s", got.Storage())
	}
}
