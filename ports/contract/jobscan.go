package contract

import (
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// testScan checks JobStore.Scan: every job once, exactly as Get reads it,
// a write seen at once (the reconciler decides from what it scans), and a
// visit error ending the scan. The store may hold other tests' jobs, so
// only this test's owner's jobs are looked at.
func testScan(t *testing.T, newStore func(t *testing.T) ports.JobStore) {
	scanOwner := func(t *testing.T, s ports.JobStore, owner domain.UserID) map[domain.JobID]*domain.Job {
		t.Helper()
		seen := map[domain.JobID]*domain.Job{}
		must(t, s.Scan(ctxFor(t), func(j *domain.Job) error {
			if j.Owner() != owner {
				return nil
			}
			if _, dup := seen[j.ID()]; dup {
				t.Fatalf("scan visited %s twice", j.ID())
			}
			seen[j.ID()] = j
			return nil
		}))
		return seen
	}
	t.Run("RecoveryFieldsRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("u")), t0)
		must(t, s.Create(ctx, j))
		must(t, j.Claim(t0, time.Minute, 3))
		must(t, j.Abandon(t0.Add(time.Second), "dead letter"))
		must(t, j.NoticeRejected(t0.Add(2*time.Second), "MessageRejected: Email address is not verified."))
		_, err := s.Update(ctx, j)
		must(t, err)
		got, err := s.Get(ctx, j.ID())
		must(t, err)
		if !got.FailedByService() || got.NoticeError() != j.NoticeError() || !got.Notified() {
			t.Fatalf("stored job lost its service failure or notice error: %s", snapJSON(t, got))
		}
	})
	t.Run("ScanVisitsEveryJobOnce", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		owner := domain.UserID(uniq("scanner"))
		want := map[domain.JobID]string{}
		states := []domain.Storage{domain.StorageNone, domain.StorageAvailable, domain.StorageArchived, domain.StorageRestoring}
		for i := range 2*len(states) + 3 {
			j := jobIn(t, domain.JobID(uniq("job")), owner, t0.Add(time.Duration(i)*time.Second), states[i%len(states)])
			must(t, s.Create(ctx, j))
			want[j.ID()] = snapJSON(t, j)
		}
		got := scanOwner(t, s, owner)
		if len(got) != len(want) {
			t.Fatalf("scan saw %d of %d jobs", len(got), len(want))
		}
		for id, j := range got {
			if snapJSON(t, j) != want[id] {
				t.Fatalf("scanned %s differs from what was stored:\n got %s\nwant %s", id, snapJSON(t, j), want[id])
			}
		}
	})
	t.Run("ScanSeesAWriteAtOnce", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		owner := domain.UserID(uniq("scanner"))
		j := jobIn(t, domain.JobID(uniq("job")), owner, t0, domain.StorageAvailable)
		must(t, s.Create(ctx, j))
		must(t, j.Archived("archive/just-now"))
		updated, err := s.Update(ctx, j)
		must(t, err)
		got := scanOwner(t, s, owner)[j.ID()]
		if got == nil || got.Version() != updated.Version() || got.Storage() != domain.StorageArchived {
			t.Fatalf("scan right after an update saw %+v, want version %d ARCHIVED", got, updated.Version())
		}
	})
	t.Run("ScanStopsOnVisitError", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		must(t, s.Create(ctx, pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("u")), t0)))
		must(t, s.Create(ctx, pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("u")), t0)))
		stop := errors.New("stop here")
		visits := 0
		err := s.Scan(ctx, func(*domain.Job) error { visits++; return stop })
		if !errors.Is(err, stop) || visits != 1 {
			t.Fatalf("scan went on after an error: %v after %d visits", err, visits)
		}
	})
}
