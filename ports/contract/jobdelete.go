package contract

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// testDelete checks JobStore.Delete: conditional on the version, gone from
// Get and from the owner's lists afterwards, ErrNotFound once gone, and the
// owner's other jobs untouched.
func testDelete(t *testing.T, newStore func(t *testing.T) ports.JobStore) {
	t.Run("Delete", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		owner := domain.UserID(uniq("user"))
		var jobs []*domain.Job
		for i, state := range []domain.Storage{domain.StorageAvailable, domain.StorageArchived, domain.StorageNone} {
			j := jobIn(t, domain.JobID(uniq("job")), owner, t0.Add(time.Duration(i)*time.Minute), state)
			must(t, s.Create(ctx, j))
			jobs = append(jobs, j)
		}
		gone, kept := jobs[0], jobs[1:]
		if err := s.Delete(ctx, gone.ID(), gone.Version()+1); !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("delete at a stale version: %v, want ErrConflict", err)
		}
		must(t, s.Delete(ctx, gone.ID(), gone.Version()))
		if _, err := s.Get(ctx, gone.ID()); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if err := s.Delete(ctx, gone.ID(), gone.Version()); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Update(ctx, gone); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("update after delete: %v, want ErrNotFound", err)
		}
		listed, _ := listAll(t, s, owner, 2)
		if want := []domain.JobID{kept[1].ID(), kept[0].ID()}; !slices.Equal(listed, want) {
			t.Fatalf("list after delete: %v, want %v", listed, want)
		}
		hot, err := s.ListByStorage(ctx, owner, domain.StorageAvailable)
		must(t, err)
		if len(hot) != 0 {
			t.Fatalf("deleted job still listed by storage: %v", ids(hot))
		}
		// A deleted id can be neither read nor confused with another job.
		for _, j := range kept {
			got, err := s.Get(ctx, j.ID())
			if err != nil || snapJSON(t, got) != snapJSON(t, j) {
				t.Fatalf("job %s after another's delete: %v", j.ID(), err)
			}
		}
	})
}
