package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// TestQueueDeliversByVisibilityThenSendOrder pins the delivery order the
// heap keeps: by the time a message became visible, then by send order —
// whether it was sent plainly, sent delayed, or timed out in flight.
func TestQueueDeliversByVisibilityThenSendOrder(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	send := func(body string, delay time.Duration) {
		t.Helper()
		if err := q.Send(ctx, ports.Outgoing{Body: []byte(body), Delay: delay}); err != nil {
			t.Fatal(err)
		}
	}
	send("a", 0)
	send("b", 0)
	send("e", 3*time.Second) // visible at 3 s
	send("c", 0)
	first, err := q.Receive(ctx, 1, 10*time.Second, 0) // a: in flight until 10 s
	if err != nil || len(first) != 1 || string(first[0].Body) != "a" {
		t.Fatalf("first delivery %v, %v; want a", first, err)
	}
	c.Advance(5 * time.Second)
	send("d", 0)               // visible at 5 s
	send("f", 0)               // visible at 5 s, after d
	c.Advance(5 * time.Second) // a visible again at 10 s
	var got []string
	for {
		ms := receiveN(t, q, time.Hour)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			got = append(got, string(m.Body))
		}
	}
	if want := []string{"b", "c", "e", "d", "f", "a"}; !slices.Equal(got, want) {
		t.Fatalf("delivery order %v, want %v", got, want)
	}
}

// TestQueueHeapSurvivesChurn drives many receives, extensions, releases
// and deletes from concurrent goroutines (run with -race) while delays
// pass, then checks every message is accounted for exactly once. In-flight
// deliveries are hidden for a day while the goroutines run, so no delivery
// times out under its holder (at-least-once would then allow a duplicate);
// the "crashed" ones time out in the drain.
func TestQueueHeapSurvivesChurn(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	dlq, err := memory.NewQueue("dlq", c)
	if err != nil {
		t.Fatal(err)
	}
	q, err := memory.NewQueue("q", c, memory.WithDeadLetter(dlq, 3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 2000
	const day = 24 * time.Hour
	for i := range n {
		if err := q.Send(ctx, ports.Outgoing{Body: []byte(fmt.Sprint(i)), Delay: time.Duration(i%7) * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	done := map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 4000 {
				ms, err := q.Receive(ctx, 1+r.IntN(10), day+time.Duration(r.IntN(5))*time.Second, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range ms {
					switch r.IntN(4) {
					case 0: // crash: let it time out
					case 1:
						_ = q.ExtendVisibility(ctx, m.Receipt, 0) // give back
					case 2:
						_ = q.ExtendVisibility(ctx, m.Receipt, day+time.Duration(r.IntN(3))*time.Second)
					default:
						if err := q.Delete(ctx, m.Receipt); err != nil {
							t.Error(err)
						}
						mu.Lock()
						done[string(m.Body)]++
						mu.Unlock()
					}
				}
				if r.IntN(8) == 0 {
					c.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	// Drain: time passes until every message is deleted or dead-lettered.
	for range 10 {
		c.Advance(2 * day)
		for {
			ms := receiveN(t, q, time.Minute)
			if len(ms) == 0 {
				break
			}
			for _, m := range ms {
				if err := q.Delete(ctx, m.Receipt); err != nil {
					t.Fatal(err)
				}
				done[string(m.Body)]++
			}
		}
	}
	st, _ := q.Stats(ctx)
	if st != (ports.QueueStats{}) {
		t.Fatalf("queue not empty after drain: %+v", st)
	}
	dead := 0
	for {
		ms := receiveN(t, dlq, time.Minute)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			done[string(m.Body)]++
			dead++
		}
	}
	for i := range n {
		if k := fmt.Sprint(i); done[k] != 1 {
			t.Fatalf("message %s finished %d times (deleted or dead-lettered), want exactly 1", k, done[k])
		}
	}
	t.Logf("%d messages: %d dead-lettered after 3 receives", n, dead)
}

// TestJobStoreIndexesStayConsistentUnderConcurrency creates jobs for a few
// users out of time order from many goroutines while others move them
// through their lifecycle, then checks the user lists and the storage
// index against the jobs themselves.
func TestJobStoreIndexesStayConsistentUnderConcurrency(t *testing.T) {
	s := memory.NewJobStore()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	users := []domain.UserID{"ada", "bob", "cy"}
	const perWorker, workers = 300, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range perWorker {
				id := domain.JobID(fmt.Sprintf("j%d-%04d", w, i))
				owner := users[r.IntN(len(users))]
				// Mostly in time order, some late arrivals and equal times.
				at := t0.Add(time.Duration(i*workers+w-r.IntN(3)*workers*r.IntN(20)) * time.Millisecond)
				j, err := domain.NewJob(id, owner, "x.vcf", "inputs/x", 1, at)
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Create(ctx, j); err != nil {
					t.Error(err)
					return
				}
				steps := r.IntN(4)
				for step := range steps {
					cur, err := s.Get(ctx, id)
					if err != nil {
						t.Error(err)
						return
					}
					switch step {
					case 0:
						err = cur.Claim(at.Add(time.Second), time.Minute, 3)
					case 1:
						err = cur.Complete(at.Add(2*time.Second), domain.ResultKeys{VCF: "v", Index: "i", Summary: "s", Log: "l"}, "ref", domain.Counts{})
					case 2:
						err = cur.Archived("archive/" + string(id))
					}
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := s.Update(ctx, cur); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, u := range users {
		var all []*domain.Job
		cursor := ""
		for {
			page, next, err := s.ListByUser(ctx, u, cursor, 37)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		total += len(all)
		byStorage := map[domain.Storage][]domain.JobID{}
		for i, j := range all {
			if j.Owner() != u {
				t.Fatalf("%s's list has %s of %s", u, j.ID(), j.Owner())
			}
			if i > 0 {
				p := all[i-1]
				if j.SubmittedAt().After(p.SubmittedAt()) || j.SubmittedAt().Equal(p.SubmittedAt()) && j.ID() > p.ID() {
					t.Fatalf("%s's list out of order at %d: %s@%s after %s@%s", u, i, j.ID(), j.SubmittedAt(), p.ID(), p.SubmittedAt())
				}
			}
			if j.Status() == domain.StatusCompleted {
				byStorage[j.Storage()] = append(byStorage[j.Storage()], j.ID())
			}
		}
		for _, st := range []domain.Storage{domain.StorageAvailable, domain.StorageArchived} {
			got, err := s.ListByStorage(ctx, u, st)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]domain.JobID, len(got))
			for i, j := range got {
				ids[i] = j.ID()
			}
			if !slices.Equal(ids, byStorage[st]) {
				t.Fatalf("%s ListByStorage(%s) = %d jobs, the list says %d", u, st, len(ids), len(byStorage[st]))
			}
		}
	}
	if total != perWorker*workers {
		t.Fatalf("lists hold %d jobs, want %d", total, perWorker*workers)
	}
}

// BenchmarkJobStoreCreateOneUser creates b.N jobs for one user in time
// order: with the append-ordered index each create is O(1) amortised.
func BenchmarkJobStoreCreateOneUser(b *testing.B) {
	s := memory.NewJobStore()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j, _ := domain.NewJob(domain.JobID(fmt.Sprint("j", i)), "u", "x.vcf", "inputs/x", 1, t0.Add(time.Duration(i)))
		if err := s.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJobStoreFirstPage lists the first page of 25 of a user with
// 10,000 jobs (the job list page).
func BenchmarkJobStoreFirstPage(b *testing.B) {
	s := memory.NewJobStore()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		j, _ := domain.NewJob(domain.JobID(fmt.Sprint("j", i)), "u", "x.vcf", "inputs/x", 1, t0.Add(time.Duration(i)))
		if err := s.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if jobs, _, err := s.ListByUser(ctx, "u", "", 25); err != nil || len(jobs) != 25 {
				b.Fatal(len(jobs), err)
			}
		}
	})
}

// BenchmarkQueueBacklog receives and deletes one message at a time from a
// queue holding 10,000 (as the annotate queue does after a burst): each
// step is O(log n), not a scan of the backlog.
func BenchmarkQueueBacklog(b *testing.B) {
	q, err := memory.NewQueue("q", memory.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	body := []byte(`{"kind":"job-request","job_id":"j"}`)
	for range 10000 {
		if err := q.Send(ctx, ports.Outgoing{Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := q.Receive(ctx, 1, time.Minute, 0)
		if err != nil || len(ms) != 1 {
			b.Fatal(len(ms), err)
		}
		if err := q.Send(ctx, ports.Outgoing{Body: body}); err != nil { // keep the backlog at 10,000
			b.Fatal(err)
		}
		if err := q.Delete(ctx, ms[0].Receipt); err != nil {
			b.Fatal(err)
		}
	}
}
