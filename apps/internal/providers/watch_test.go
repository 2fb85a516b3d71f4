package providers

import (
	"context"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A job's waiters are woken by its stored change only: not by another
// job's, nor by an update the store refused; and nothing is kept for a
// job once nobody waits for it.
func TestWatchedJobStoreWakesAJobsWaiters(t *testing.T) {
	ctx := context.Background()
	s := NewWatchedJobStore(memory.NewJobStore())
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var jobs []*domain.Job
	for _, id := range []domain.JobID{"a", "b"} {
		j, err := domain.NewJob(id, "ada", "a.vcf", "inputs/"+string(id), 10, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	a1, release1 := s.Watch("a")
	a2, release2 := s.Watch("a")
	b, releaseB := s.Watch("b")

	stale := *jobs[0] // its version is the stored one: the first update takes it
	if err := jobs[0].Claim(at, time.Minute, 3); err != nil {
		t.Fatal(err)
	}
	updated, err := s.Update(ctx, jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !closed(a1) || !closed(a2) || closed(b) {
		t.Fatalf("after a's update: a woken %v %v, b woken %v", closed(a1), closed(a2), closed(b))
	}
	release1()
	release2()

	again, release := s.Watch("a")
	if closed(again) {
		t.Fatal("a new wait starts woken")
	}
	if _, err := s.Update(ctx, &stale); err == nil {
		t.Fatal("the store took a stale update")
	}
	if closed(again) {
		t.Fatal("a refused update woke a's waiter")
	}
	if err := s.Delete(ctx, "a", updated.Version()); err != nil {
		t.Fatal(err)
	}
	if !closed(again) {
		t.Fatal("a's deletion did not wake its waiter")
	}
	release()
	releaseB()
	if len(s.waits) != 0 {
		t.Fatalf("%d jobs still watched after every waiter left", len(s.waits))
	}
}
