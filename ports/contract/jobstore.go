package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

func pendingJob(t *testing.T, id domain.JobID, owner domain.UserID, at time.Time) *domain.Job {
	t.Helper()
	j, err := domain.NewJob(id, owner, "sample.vcf", "inputs/"+string(owner)+"/"+string(id)+"/input", 1234, at)
	if err != nil {
		t.Fatalf("new job: %v", err)
	}
	must(t, j.Choose(domain.JobOptions{Reference: "GRCh38-test", SkipMalformed: true}))
	return j
}

// contractCounts are headline numbers every store must keep with a job.
var contractCounts = domain.Counts{Records: 12, Variants: 14, Skipped: 1, Known: 7, RefMismatches: 2, UnknownChromosome: 1, PastChromosomeEnd: 1, Transitions: 6,
	Transversions: 3, Top: []domain.Counted{{Label: "missense_variant", Count: 4}, {Label: "intron_variant", Count: 3}}}

// jobIn makes a job in the given storage state by walking the lifecycle.
func jobIn(t *testing.T, id domain.JobID, owner domain.UserID, at time.Time, state domain.Storage) *domain.Job {
	t.Helper()
	j := pendingJob(t, id, owner, at)
	if state == domain.StorageNone {
		return j
	}
	must(t, j.Claim(at.Add(time.Second), time.Minute, 3))
	must(t, j.Complete(at.Add(2*time.Second), domain.ResultKeys{VCF: "results/" + string(id) + ".vcf", Index: "i", Summary: "s", Log: "l"}, "GRCh38-test", contractCounts))
	if state == domain.StorageAvailable {
		// A free owner's result: its archive schedule is kept with it, and
		// the name its owner gave it.
		must(t, j.ScheduleArchive(at.Add(5*time.Minute)))
		must(t, j.Rename("exome of patient 7 — ünïcode"))
		return j
	}
	must(t, j.Archived("archive/"+string(id)))
	if state == domain.StorageArchived {
		return j
	}
	must(t, j.RestoreStarted("retrieval-"+string(id), domain.RetrievalExpedited, at.Add(time.Hour)))
	return j
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func snapJSON(t *testing.T, j *domain.Job) string {
	t.Helper()
	b, err := json.Marshal(j.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ids(jobs []*domain.Job) []domain.JobID {
	out := make([]domain.JobID, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID()
	}
	return out
}

// TestJobStore checks a ports.JobStore: exact round trips, create-once,
// version compare-and-set under concurrency, isolation of returned values,
// newest-first cursor paging per user, listing by storage state, and the
// reconciler's scan of every job.
// newStore may return a store shared with other calls; the suite uses
// fresh job and user ids.
func TestJobStore(t *testing.T, newStore func(t *testing.T) ports.JobStore) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		var jobs []*domain.Job
		for _, state := range []domain.Storage{domain.StorageNone, domain.StorageAvailable, domain.StorageArchived, domain.StorageRestoring} {
			jobs = append(jobs, jobIn(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0, state))
		}
		// A notice in progress and a notice sent: losing either makes the
		// notifier e-mail the user again on every redelivery.
		held := jobIn(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0, domain.StorageAvailable)
		must(t, held.BeginNotice(t0.Add(3*time.Second), time.Minute))
		sent := jobIn(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0, domain.StorageAvailable)
		must(t, sent.BeginNotice(t0.Add(3*time.Second), time.Minute))
		must(t, sent.NoticeSent(t0.Add(4*time.Second)))
		jobs = append(jobs, held, sent)
		for _, j := range jobs {
			state := j.Storage()
			must(t, s.Create(ctx, j))
			got, err := s.Get(ctx, j.ID())
			if err != nil {
				t.Fatalf("get %s: %v", j.ID(), err)
			}
			if a, b := snapJSON(t, got), snapJSON(t, j); a != b {
				t.Fatalf("round trip of a %q job changed it:\n got %s\nwant %s", state, a, b)
			}
		}
	})
	t.Run("CreateTwiceIsErrExists", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		id := domain.JobID(uniq("job"))
		j := pendingJob(t, id, domain.UserID(uniq("user")), t0)
		must(t, s.Create(ctx, j))
		other := jobIn(t, id, domain.UserID(uniq("user")), t0.Add(time.Hour), domain.StorageAvailable)
		if err := s.Create(ctx, other); !errors.Is(err, ports.ErrExists) {
			t.Fatalf("second create: got %v, want ErrExists", err)
		}
		got, err := s.Get(ctx, id)
		must(t, err)
		if snapJSON(t, got) != snapJSON(t, j) {
			t.Fatalf("a refused create changed the stored job")
		}
	})
	t.Run("GetMissingIsErrNotFound", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		if _, err := s.Get(ctx, domain.JobID(uniq("missing"))); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("UpdateComparesVersion", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0)
		must(t, s.Create(ctx, j))
		stale, err := s.Get(ctx, j.ID())
		must(t, err)
		v0 := stale.Version()

		cur, err := s.Get(ctx, j.ID())
		must(t, err)
		must(t, cur.Claim(t0.Add(time.Minute), time.Minute, 3))
		updated, err := s.Update(ctx, cur)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if updated.Version() != v0+1 || updated.Status() != domain.StatusRunning {
			t.Fatalf("update returned version %d status %s, want %d RUNNING", updated.Version(), updated.Status(), v0+1)
		}
		got, err := s.Get(ctx, j.ID())
		must(t, err)
		if snapJSON(t, got) != snapJSON(t, updated) {
			t.Fatalf("stored job differs from the one Update returned:\n got %s\nwant %s", snapJSON(t, got), snapJSON(t, updated))
		}

		must(t, stale.Cancel(t0.Add(time.Minute)))
		if _, err := s.Update(ctx, stale); !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("update at stale version %d: got %v, want ErrConflict", v0, err)
		}
		if _, err := s.Update(ctx, cur); !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("repeating an update with the pre-update job: got %v, want ErrConflict", err)
		}
		got, err = s.Get(ctx, j.ID())
		must(t, err)
		if got.Status() != domain.StatusRunning || got.Version() != v0+1 {
			t.Fatalf("refused updates changed the job: %s v%d", got.Status(), got.Version())
		}
		// The returned job carries the new version, so it can be updated again.
		must(t, updated.ExtendLease(t0.Add(2*time.Minute), time.Minute))
		again, err := s.Update(ctx, updated)
		if err != nil || again.Version() != v0+2 {
			t.Fatalf("second update with the returned job: %v (version %v)", err, again)
		}
	})
	t.Run("UpdateMissingFails", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0)
		_, err := s.Update(ctx, j)
		if !errors.Is(err, ports.ErrNotFound) && !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("update of a job never created: got %v, want ErrNotFound or ErrConflict", err)
		}
		if _, err := s.Get(ctx, j.ID()); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("update of a missing job created it: %v", err)
		}
	})
	t.Run("ValuesAreIsolated", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0)
		must(t, s.Create(ctx, j))
		must(t, j.Claim(t0, time.Minute, 3)) // mutate the caller's copy after Create
		got, err := s.Get(ctx, j.ID())
		must(t, err)
		if got.Status() != domain.StatusPending {
			t.Fatalf("mutating the created job changed the store: %s", got.Status())
		}
		must(t, got.Cancel(t0)) // mutate a copy we got
		again, err := s.Get(ctx, j.ID())
		must(t, err)
		if again.Status() != domain.StatusPending {
			t.Fatalf("mutating a fetched job changed the store: %s", again.Status())
		}
	})
	t.Run("ConcurrentUpdatersExactlyOneWins", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0)
		must(t, s.Create(ctx, j))
		const workers = 8
		copies := make([]*domain.Job, workers)
		for i := range copies {
			c, err := s.Get(ctx, j.ID())
			must(t, err)
			must(t, c.Claim(t0.Add(time.Duration(i)*time.Second), time.Minute, 3))
			copies[i] = c
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, workers)
		for i := range copies {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Update(ctx, copies[i])
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ports.ErrConflict):
				t.Errorf("worker %d: got %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent claims won, want exactly 1", wins)
		}
		got, err := s.Get(ctx, j.ID())
		must(t, err)
		if got.Version() != j.Version()+1 || got.Attempts() != 1 {
			t.Fatalf("after the race: version %d attempts %d, want %d and 1", got.Version(), got.Attempts(), j.Version()+1)
		}
	})
	t.Run("ConcurrentReadModifyWriteLosesNothing", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		j := pendingJob(t, domain.JobID(uniq("job")), domain.UserID(uniq("user")), t0)
		must(t, s.Create(ctx, j))
		first, err := s.Get(ctx, j.ID())
		must(t, err)
		must(t, first.Claim(t0, time.Minute, 3))
		first, err = s.Update(ctx, first)
		must(t, err)
		const workers, each = 4, 5
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; i < each; {
					c, err := s.Get(ctx, j.ID())
					if err != nil {
						t.Errorf("worker %d: %v", w, err)
						return
					}
					if err := c.ExtendLease(t0.Add(time.Duration(w*each+i)*time.Second), time.Minute); err != nil {
						t.Errorf("worker %d: %v", w, err)
						return
					}
					_, err = s.Update(ctx, c)
					switch {
					case err == nil:
						i++
					case errors.Is(err, ports.ErrConflict):
					default:
						t.Errorf("worker %d: %v", w, err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := s.Get(ctx, j.ID())
		must(t, err)
		if want := first.Version() + workers*each; got.Version() != want {
			t.Fatalf("after %d successful updates version is %d, want %d (lost or phantom writes)", workers*each, got.Version(), want)
		}
	})
	t.Run("ListByUserPagesNewestFirst", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		alice, bob := domain.UserID(uniq("alice")), domain.UserID(uniq("bob"))
		const n = 23
		var want []domain.JobID // newest first
		var jobs []*domain.Job
		for i := range n {
			j := pendingJob(t, domain.JobID(fmt.Sprintf("%s-%02d", uniq("job"), i)), alice, t0.Add(time.Duration(i)*time.Minute))
			jobs = append(jobs, j)
			want = append([]domain.JobID{j.ID()}, want...)
		}
		for i := range 5 {
			jobs = append(jobs, pendingJob(t, domain.JobID(uniq("bobjob")), bob, t0.Add(time.Duration(i)*time.Minute+time.Second)))
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
		for _, j := range jobs {
			must(t, s.Create(ctx, j))
		}
		got, pages := listAll(t, s, alice, 7)
		if !slices.Equal(got, want) {
			t.Fatalf("pages of 7 gave\n%v\nwant newest first\n%v", got, want)
		}
		if !slices.Equal(pages, []int{7, 7, 7, 2}) {
			t.Fatalf("page sizes %v, want [7 7 7 2]", pages)
		}
		got, pages = listAll(t, s, alice, 100)
		if !slices.Equal(got, want) || len(pages) != 1 {
			t.Fatalf("one big page: %d pages, jobs %v", len(pages), got)
		}
		bobs, _ := listAll(t, s, bob, 2)
		if len(bobs) != 5 {
			t.Fatalf("bob sees %d jobs, want his 5", len(bobs))
		}
		for _, id := range bobs {
			if slices.Contains(want, id) {
				t.Fatalf("bob's list contains alice's job %s", id)
			}
		}
		none, next, err := s.ListByUser(ctx, domain.UserID(uniq("nobody")), "", 10)
		if err != nil || len(none) != 0 || next != "" {
			t.Fatalf("unknown user: %d jobs, next %q, err %v; want none", len(none), next, err)
		}
	})
	t.Run("ListByUserLastFullPageHasNoNext", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := domain.UserID(uniq("user"))
		for i := range 14 {
			must(t, s.Create(ctx, pendingJob(t, domain.JobID(uniq("job")), u, t0.Add(time.Duration(i)*time.Second))))
		}
		got, pages := listAll(t, s, u, 7)
		if len(got) != 14 || !slices.Equal(pages, []int{7, 7}) {
			t.Fatalf("14 jobs in pages of 7: page sizes %v; the last full page must return next \"\"", pages)
		}
	})
	t.Run("ListByUserCursorSurvivesNewJobs", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := domain.UserID(uniq("user"))
		var want []domain.JobID
		for i := range 10 {
			j := pendingJob(t, domain.JobID(uniq("job")), u, t0.Add(time.Duration(i)*time.Hour))
			must(t, s.Create(ctx, j))
			want = append([]domain.JobID{j.ID()}, want...)
		}
		page1, next, err := s.ListByUser(ctx, u, "", 4)
		must(t, err)
		if !slices.Equal(ids(page1), want[:4]) || next == "" {
			t.Fatalf("first page %v next %q, want %v and a cursor", ids(page1), next, want[:4])
		}
		must(t, s.Create(ctx, pendingJob(t, domain.JobID(uniq("newer")), u, t0.Add(100*time.Hour))))
		page2, _, err := s.ListByUser(ctx, u, next, 4)
		must(t, err)
		if !slices.Equal(ids(page2), want[4:8]) {
			t.Fatalf("second page after a new job arrived: %v, want %v", ids(page2), want[4:8])
		}
	})
	t.Run("ListByUserEqualTimesEachOnce", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := domain.UserID(uniq("user"))
		var all []domain.JobID
		for range 5 {
			j := pendingJob(t, domain.JobID(uniq("job")), u, t0)
			must(t, s.Create(ctx, j))
			all = append(all, j.ID())
		}
		got, _ := listAll(t, s, u, 2)
		slices.Sort(got)
		slices.Sort(all)
		if !slices.Equal(got, all) {
			t.Fatalf("jobs submitted at the same instant, paged by 2: got %v, want each of %v once", got, all)
		}
	})
	t.Run("ListByUserBadCursor", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := domain.UserID(uniq("user"))
		must(t, s.Create(ctx, pendingJob(t, domain.JobID(uniq("job")), u, t0)))
		if _, _, err := s.ListByUser(ctx, u, "%%not-a-cursor%%", 5); err == nil {
			t.Fatalf("a garbage cursor was accepted")
		}
	})
	t.Run("ListByStorage", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u, other := domain.UserID(uniq("user")), domain.UserID(uniq("other"))
		want := map[domain.Storage][]domain.JobID{}
		add := func(owner domain.UserID, state domain.Storage, i int) *domain.Job {
			j := jobIn(t, domain.JobID(uniq("job")), owner, t0.Add(time.Duration(i)*time.Minute), state)
			must(t, s.Create(ctx, j))
			if owner == u {
				want[state] = append(want[state], j.ID())
			}
			return j
		}
		add(u, domain.StorageNone, 0)
		add(u, domain.StorageAvailable, 1)
		avail := add(u, domain.StorageAvailable, 2)
		add(u, domain.StorageArchived, 3)
		add(u, domain.StorageArchived, 4)
		add(u, domain.StorageRestoring, 5)
		add(other, domain.StorageArchived, 6)
		cancelled := pendingJob(t, domain.JobID(uniq("job")), u, t0)
		must(t, cancelled.Cancel(t0))
		must(t, s.Create(ctx, cancelled))
		check := func(state domain.Storage) {
			t.Helper()
			got, err := s.ListByStorage(ctx, u, state)
			must(t, err)
			g, w := ids(got), slices.Clone(want[state])
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Fatalf("ListByStorage(%s) = %v, want %v", state, g, w)
			}
			for _, j := range got {
				if j.Status() != domain.StatusCompleted || j.Storage() != state || j.Owner() != u {
					t.Fatalf("ListByStorage(%s) returned %s %s/%s of %s", state, j.ID(), j.Status(), j.Storage(), j.Owner())
				}
			}
		}
		for _, st := range []domain.Storage{domain.StorageAvailable, domain.StorageArchived, domain.StorageRestoring} {
			check(st)
		}
		// A state change is reflected.
		cur, err := s.Get(ctx, avail.ID())
		must(t, err)
		must(t, cur.Archived("archive/x"))
		_, err = s.Update(ctx, cur)
		must(t, err)
		want[domain.StorageAvailable] = slices.DeleteFunc(want[domain.StorageAvailable], func(id domain.JobID) bool { return id == avail.ID() })
		want[domain.StorageArchived] = append(want[domain.StorageArchived], avail.ID())
		check(domain.StorageAvailable)
		check(domain.StorageArchived)
		none, err := s.ListByStorage(ctx, domain.UserID(uniq("nobody")), domain.StorageArchived)
		if err != nil || len(none) != 0 {
			t.Fatalf("unknown user: %v %v", none, err)
		}
	})
	testDelete(t, newStore)
	testScan(t, newStore)
}

// listAll pages through a user's jobs and returns the ids in order and the
// page sizes, failing on a repeated job or an empty page with a cursor.
func listAll(t *testing.T, s ports.JobStore, u domain.UserID, limit int) ([]domain.JobID, []int) {
	t.Helper()
	ctx := ctxFor(t)
	var out []domain.JobID
	var pages []int
	seen := map[domain.JobID]bool{}
	cursor := ""
	for range 1000 {
		jobs, next, err := s.ListByUser(ctx, u, cursor, limit)
		if err != nil {
			t.Fatalf("list page %d: %v", len(pages)+1, err)
		}
		if len(jobs) > limit {
			t.Fatalf("page of %d jobs for limit %d", len(jobs), limit)
		}
		pages = append(pages, len(jobs))
		for i, j := range jobs {
			if seen[j.ID()] {
				t.Fatalf("job %s listed twice", j.ID())
			}
			seen[j.ID()] = true
			if j.Owner() != u {
				t.Fatalf("list of %s returned %s owned by %s", u, j.ID(), j.Owner())
			}
			if i > 0 && j.SubmittedAt().After(jobs[i-1].SubmittedAt()) {
				t.Fatalf("page not newest first: %s after %s", j.SubmittedAt(), jobs[i-1].SubmittedAt())
			}
			out = append(out, j.ID())
		}
		if next == "" {
			return out, pages
		}
		if len(jobs) == 0 {
			t.Fatalf("empty page with a next cursor")
		}
		cursor = next
	}
	t.Fatalf("paging did not end")
	return nil, nil
}
