package workers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/workers"
)

// ownedInput is a VCF whose header names its owner, so the fake engine
// can tell whose job it runs.
func ownedInput(user string, i int) string {
	return fmt.Sprintf("##fileformat=VCFv4.2\n##owner=%s\n#CHROM\tPOS\tID\tREF\tALT\n1\t%d\t.\tA\tG\n", user, 1000+i)
}

func ownerOf(input string) string {
	_, rest, _ := strings.Cut(input, "##owner=")
	owner, _, _ := strings.Cut(rest, "\n")
	return owner
}

// gate holds every run until released and records who runs at once.
type gate struct {
	mu       sync.Mutex
	running  map[string]int
	peak     map[string]int
	started  chan string
	released chan struct{}
}

func newGate(w *world) *gate {
	g := &gate{running: map[string]int{}, peak: map[string]int{}, started: make(chan string, 100), released: make(chan struct{})}
	w.annotator.during = func(ctx context.Context, in string) error {
		owner := ownerOf(in)
		g.mu.Lock()
		g.running[owner]++
		g.peak[owner] = max(g.peak[owner], g.running[owner])
		g.mu.Unlock()
		g.started <- owner
		defer func() { g.mu.Lock(); g.running[owner]--; g.mu.Unlock() }()
		if owner == "light" {
			return nil
		}
		select {
		case <-g.released:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g
}

func (w *world) runner(t testing.TB, slots int) *workers.Runner {
	t.Helper()
	cfg := w.cfg
	cfg.Concurrency = slots
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: w.queues[qAnnotate], Archives: w.queues[qArchive],
		Results: w.ports(nil).topic(tResults), Jobs: w.jobStore, Users: w.users, Objects: w.objects,
		Annotator: w.annotatorOver(w.objects), Clock: w.clock}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// While a premium user has six jobs queued on a pool of four slots, they
// run at most three at once (their cap, never the last slot) and another
// user's job starts and completes at once.
func TestDispatcherStartsALightUsersJobWhileAHeavyUserHasABacklog(t *testing.T) {
	w := newWorld(t)
	w.signIn("heavy")
	if _, err := w.accounts.Upgrade(w.ctx, "heavy"); err != nil {
		t.Fatal(err)
	}
	w.signIn("light")
	g := newGate(w)
	for i := range 6 {
		if _, err := w.jobsSvc.Upload(w.ctx, "heavy", "h.vcf", strings.NewReader(ownedInput("heavy", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error)
	go func() { done <- w.runner(t, 4).Run(ctx) }()
	for range 3 {
		if who := <-g.started; who != "heavy" {
			t.Fatalf("%s started first", who)
		}
	}
	light, err := w.jobsSvc.Upload(w.ctx, "light", "l.vcf", strings.NewReader(ownedInput("light", 0)))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case who := <-g.started:
		if who != "light" {
			t.Fatalf("%s started while the light user's job waited", who)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the light user's job did not start while the heavy user's backlog waited")
	}
	waitFor(t, func() bool { return w.job(light.ID()).Status() == domain.StatusCompleted })
	close(g.released)
	waitFor(t, func() bool {
		js, _, _ := w.jobStore.ListByUser(w.ctx, "heavy", "", 10)
		for _, j := range js {
			if j.Status() != domain.StatusCompleted {
				return false
			}
		}
		return len(js) == 6
	})
	cancel()
	<-done
	if g.peak["heavy"] != 3 {
		t.Fatalf("heavy user ran %d jobs at once, want its cap of 3", g.peak["heavy"])
	}
}

// On shutdown the deliveries held for a user at their cap go back to the
// queue at once, and the jobs they ask for stay PENDING.
func TestDispatcherReleasesHeldDeliveriesOnShutdown(t *testing.T) {
	w := newWorld(t)
	w.signIn("heavy")
	g := newGate(w)
	for i := range 4 {
		if _, err := w.jobsSvc.Upload(w.ctx, "heavy", "h.vcf", strings.NewReader(ownedInput("heavy", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error)
	go func() { done <- w.runner(t, 4).Run(ctx) }()
	<-g.started
	<-g.started // the free user's cap of 2: the other two are held
	waitFor(t, func() bool { st := w.stats(qAnnotate); return st.InFlight == 4 && st.Visible == 0 })
	cancel()
	<-done
	if st := w.stats(qAnnotate); st.Visible != 4 {
		t.Fatalf("after shutdown the annotate queue is %+v, want all four requests visible again", st)
	}
	js, _, _ := w.jobStore.ListByUser(w.ctx, "heavy", "", 10)
	for _, j := range js {
		if j.Status() != domain.StatusPending {
			t.Fatalf("job %s is %s after shutdown, want PENDING", j.ID(), j.Status())
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkQueueWaitByUser is a skewed load on a pool of four slots: one
// premium user queues 24 jobs of 20 ms, then three free users submit a 1 ms
// job each every 10 ms. It reports how long each kind of user's jobs
// waited for a slot (wall time from submission to start), through the
// Dispatcher ("fair") and through the first-come-first-served loop the
// runner had before ("fifo"), measured in the same run.
func BenchmarkQueueWaitByUser(b *testing.B) {
	for _, mode := range []string{"fifo", "fair"} {
		b.Run(mode, func(b *testing.B) {
			var light, heavy []time.Duration
			for range b.N {
				l, h := skewedLoad(b, mode == "fair")
				light, heavy = append(light, l...), append(heavy, h...)
			}
			b.ReportMetric(ms(percentile(light, 50)), "light-p50-ms")
			b.ReportMetric(ms(percentile(light, 100)), "light-max-ms")
			b.ReportMetric(ms(percentile(heavy, 50)), "heavy-p50-ms")
			b.ReportMetric(ms(percentile(heavy, 100)), "heavy-max-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// skewedLoad runs the benchmark's load once and returns the waits of the
// light users' jobs and of the heavy user's.
func skewedLoad(b *testing.B, fair bool) (light, heavy []time.Duration) {
	w := newWorld(b)
	w.signIn("heavy")
	if _, err := w.accounts.Upgrade(w.ctx, "heavy"); err != nil {
		b.Fatal(err)
	}
	lights := []string{"l1", "l2", "l3"}
	for _, u := range lights {
		w.signIn(u)
	}
	var mu sync.Mutex
	submitted := map[string]time.Time{}
	var wg sync.WaitGroup
	w.annotator.during = func(ctx context.Context, in string) error {
		defer wg.Done()
		mu.Lock()
		wait := time.Since(submitted[in])
		if owner := ownerOf(in); owner == "heavy" {
			heavy = append(heavy, wait)
		} else {
			light = append(light, wait)
		}
		mu.Unlock()
		d := time.Millisecond
		if ownerOf(in) == "heavy" {
			d = 20 * time.Millisecond
		}
		time.Sleep(d)
		return nil
	}
	submit := func(user string, i int) {
		in := ownedInput(user, i)
		mu.Lock()
		submitted[in] = time.Now()
		mu.Unlock()
		wg.Add(1)
		if _, err := w.jobsSvc.Upload(w.ctx, domain.UserID(user), "in.vcf", strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 24 {
		submit("heavy", i)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	r := w.runner(b, 4)
	var run sync.WaitGroup
	if fair {
		run.Go(func() { _ = r.Run(ctx) })
	} else {
		for range 4 {
			run.Go(func() { fifo(ctx, w, r) })
		}
	}
	for i := range 4 {
		time.Sleep(10 * time.Millisecond)
		for _, u := range lights {
			submit(u, i)
		}
	}
	wg.Wait()
	cancel()
	run.Wait()
	return light, heavy
}

// fifo is one slot of the runner's loop before fair share: receive the
// oldest request, handle it, repeat.
func fifo(ctx context.Context, w *world, r *workers.Runner) {
	for ctx.Err() == nil {
		ms, err := w.queues[qAnnotate].Receive(ctx, 1, w.cfg.Visibility, time.Millisecond)
		if err != nil {
			return
		}
		for _, m := range ms {
			_ = r.Handle(ctx, m)
		}
	}
}

// A job whose input passes its owner's plan limits fails for good, with
// the limit and the plan that lifts it as its reason, and its owner is told.
func TestJobOverItsPlansRecordLimitFailsWithTheReason(t *testing.T) {
	w := newWorld(t)
	w.cfg.Policy.FreeRecordLimit = 1
	w.signIn("ada")
	j, err := w.jobsSvc.Upload(w.ctx, "ada", "two.vcf", strings.NewReader(inputFor(1)+"1\t2000\t.\tC\tT\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	got := w.job(j.ID())
	want := "the file has more than 1 variant records; free accounts may annotate up to 1 records per job — upgrade to premium for up to 100,000,000 records"
	if got.Status() != domain.StatusFailed || got.FailureReason() != want {
		t.Fatalf("job %s: %q, want FAILED: %q", got.Status(), got.FailureReason(), want)
	}
	if st := w.stats(qNotify); st.Visible != 1 {
		t.Fatalf("notify queue %+v: the owner is not told", st)
	}
}
