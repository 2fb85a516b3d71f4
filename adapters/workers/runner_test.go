package workers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
	"github.com/gasproject/gas/ports/mocks"
)

func TestIndexIsBuiltWhileTheResultStreamsAndTravelsThroughTheArchive(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	keys := j.Results()
	idx, ok := w.object(keys.Index)
	if !ok {
		t.Fatal("no index stored")
	}
	ix, err := vartable.Open(w.ctx, func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(idx[off : off+n])), nil
	}, int64(len(idx)))
	if err != nil || ix.Len() != 1 {
		t.Fatalf("index of %q: %v, %d rows", annotated(inputFor(1)), err, ix.Len())
	}
	w.passWindowAndArchive()
	files, _ := w.archive.bundle(w.job(j.ID()).ArchiveID())
	if files[jobs.ResultIndexName] != idx {
		t.Fatalf("bundle lacks the index: %v", files)
	}
	if _, ok := w.object(keys.Index); ok {
		t.Fatal("hot index kept after archiving")
	}
	w.accounts.Upgrade(w.ctx, "ada")
	w.mustDeliver(qThaw)
	w.clock.Advance(w.policy.ExpeditedRestore)
	w.settle()
	got := w.job(j.ID())
	if back, ok := w.object(got.Results().Index); got.Storage() != domain.StorageAvailable || !ok || back != idx {
		t.Fatalf("restored index %q (%v), job %s", back, ok, got.Storage())
	}
}

func TestIndexerFailureIsRetriedNotBlamedOnTheUser(t *testing.T) {
	w := newWorld(t)
	w.annotator.tableErr = errors.New("index disk full")
	w.signIn("ada")
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	if ok, err := w.deliver(qAnnotate); !ok || err == nil || !strings.Contains(err.Error(), "index disk full") {
		t.Fatalf("delivered %v: %v", ok, err)
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusPending || got.Attempts() != 1 {
		t.Fatalf("job %s attempts %d", got.Status(), got.Attempts())
	}
	// The run's generation is the version its claim wrote (the failure wrote the next).
	keys := jobs.ResultKeys("results/", "ada", j.ID(), fmt.Sprintf("v%d", got.Version()-1))
	for _, key := range []string{keys.VCF, keys.Index} {
		if _, ok := w.object(key); ok {
			t.Errorf("failed run left %s behind", key)
		}
	}
}

// Run loops until its context ends; a job in progress is released back to
// PENDING without charging the attempt, and its delivery made visible at once.
func TestRunnerShutdownReleasesJob(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	started := make(chan struct{})
	w.annotator.during = func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: w.queues[qAnnotate], Archives: w.queues[qArchive],
		Results: w.ports(nil).topic(tResults), Jobs: w.jobStore, Users: w.users, Objects: w.objects,
		Annotator: w.annotatorOver(w.objects), Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-started
	if got := w.job(j.ID()); got.Status() != domain.StatusRunning {
		t.Fatalf("while running: %s", got.Status())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusPending || got.Attempts() != 0 {
		t.Fatalf("after shutdown: %s attempts %d", got.Status(), got.Attempts())
	}
	if s := w.stats(qAnnotate); s.Visible != 1 {
		t.Fatalf("request not handed back: %+v", s)
	}
	w.annotator.during = nil
	w.mustDeliver(qAnnotate)
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted || got.Attempts() != 1 {
		t.Fatalf("after restart: %s attempts %d", got.Status(), got.Attempts())
	}
}

// A concurrent pool runs several users' jobs at once through the shared
// loop.
func TestRunnerPoolRunsJobsConcurrently(t *testing.T) {
	w := newWorld(t)
	const n = 4
	users := []domain.UserID{"ada", "bob", "cy", "di"}
	for _, u := range users {
		w.signIn(string(u))
	}
	var mu sync.Mutex
	running, peak := 0, 0
	all := make(chan struct{})
	w.annotator.during = func(ctx context.Context, _ string) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		if running == n {
			close(all)
		}
		mu.Unlock()
		select { // hold every run until all n are in progress together
		case <-all:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	for i := range n {
		if _, err := w.jobsSvc.Upload(w.ctx, users[i], "a.vcf", strings.NewReader(inputFor(i))); err != nil {
			t.Fatal(err)
		}
	}
	cfg := w.cfg
	cfg.Concurrency = n
	r, _ := workers.NewRunner(workers.RunnerPorts{Requests: w.queues[qAnnotate], Archives: w.queues[qArchive],
		Results: w.ports(nil).topic(tResults), Jobs: w.jobStore, Users: w.users, Objects: w.objects,
		Annotator: w.annotatorOver(w.objects), Clock: w.clock}, cfg)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		completed := 0
		for _, u := range users {
			js, _, _ := w.jobStore.ListByUser(w.ctx, u, "", 10)
			for _, j := range js {
				if j.Status() == domain.StatusCompleted {
					completed++
				}
			}
		}
		if completed == n {
			break
		}
		select {
		case <-deadline:
			cancel()
			t.Fatalf("only %d of %d jobs completed (peak concurrency %d)", completed, n, peak)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if peak != n {
		t.Fatalf("peak concurrency %d, want %d", peak, n)
	}
}

// While a run is long, the heartbeat extends the job's lease and the
// delivery's visibility; when someone else changes the job, the run stops
// and its delivery is not acknowledged.
func TestHeartbeatExtendsLeaseAndStopsLostRuns(t *testing.T) {
	w := newWorld(t)
	w.cfg.Heartbeat = 5 * time.Millisecond
	w.signIn("ada")
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	var extended, stopped bool
	w.annotator.during = func(ctx context.Context, _ string) error {
		claimed := w.job(j.ID()).Version()
		deadline := time.Now().Add(5 * time.Second)
		for w.job(j.ID()).Version() < claimed+2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		extended = w.job(j.ID()).Version() >= claimed+2
		// Another party takes the job: the DLQ handler abandons it.
		if _, err := jobs.Mutate(ctx, w.jobStore, j.ID(), func(j *domain.Job) (bool, error) {
			return true, j.Abandon(w.clock.Now(), "test")
		}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			stopped = true
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	}
	q := ackQueue()
	var visMu sync.Mutex
	var vis []time.Duration
	q.ExtendVisibilityFunc = func(_ context.Context, _ string, d time.Duration) error {
		visMu.Lock()
		vis = append(vis, d)
		visMu.Unlock()
		return nil
	}
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: q, Archives: ackQueue(), Results: publisherMock(nil),
		Jobs: w.jobStore, Users: w.users, Objects: w.objects, Annotator: w.annotatorOver(w.objects), Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada")))
	if !extended || !stopped {
		t.Fatalf("lease extended %v, run stopped %v", extended, stopped)
	}
	if err == nil || len(q.DeleteCalls()) != 0 {
		t.Fatalf("lost run acknowledged: %v, %d deletes", err, len(q.DeleteCalls()))
	}
	visMu.Lock()
	defer visMu.Unlock()
	if len(vis) < 2 || vis[0] != w.cfg.Visibility {
		t.Fatalf("visibility extensions %v", vis)
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusFailed || got.FailureReason() != "test" {
		t.Fatalf("job %s %q", got.Status(), got.FailureReason())
	}
}

func TestConstructorsRejectMissingPorts(t *testing.T) {
	w := newWorld(t)
	if _, err := workers.NewRunner(workers.RunnerPorts{}, w.cfg); !errors.Is(err, workers.ErrConfig) {
		t.Errorf("runner: %v", err)
	}
	if _, err := workers.NewArchiver(nil, nil, w.clock, w.cfg); !errors.Is(err, workers.ErrConfig) {
		t.Errorf("archiver: %v", err)
	}
	if _, err := workers.NewNotifier(workers.NotifierPorts{Queue: ackQueue(), Jobs: w.jobStore, Users: w.users,
		Mailer: &mocks.MailerMock{}, Clock: w.clock}, w.cfg); !errors.Is(err, workers.ErrConfig) {
		t.Errorf("notifier without a composer: %v", err)
	}
	bad := w.cfg
	bad.Policy.MaxAttempts = 0
	if _, err := workers.NewThawer(ackQueue(), w.ports(nil).archival(), w.clock, bad); !errors.Is(err, workers.ErrConfig) {
		t.Errorf("invalid policy: %v", err)
	}
}

// Early deliveries of delayed messages are re-sent for the time left
// (capped at the queue maximum) and acknowledged, without processing.
func TestEarlyDeliveryIsRedelayed(t *testing.T) {
	w := newWorld(t)
	q := ackQueue()
	a, _ := workers.NewArchiver(q, w.ports(nil).archival(), w.clock, w.cfg)
	due := w.clock.Now().Add(time.Hour)
	if err := a.Handle(w.ctx, delivery(message.ArchiveJob("j1", due))); err != nil {
		t.Fatal(err)
	}
	sends := q.SendCalls()
	if len(sends) != 1 || sends[0].M.Delay != message.MaxDelay || len(q.DeleteCalls()) != 1 {
		t.Fatalf("sends %+v deletes %d", sends, len(q.DeleteCalls()))
	}
	m, _ := message.Decode(sends[0].M.Body)
	if !m.Due.Equal(due) {
		t.Fatalf("re-sent due %s, want %s", m.Due, due)
	}
}

// landsAnyway is a job store whose lease renewals (RUNNING -> RUNNING
// writes) can be made to land while reporting failure, as a request to a
// remote store does when it is cancelled or times out in flight.
type landsAnyway struct {
	ports.JobStore
	mu sync.Mutex
	// renewal, if set, handles the next renewal instead of the store.
	renewal func(ctx context.Context, j *domain.Job) (*domain.Job, error)
}

func (s *landsAnyway) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	s.mu.Lock()
	h := s.renewal
	if j.Status() == domain.StatusRunning && h != nil {
		if cur, err := s.JobStore.Get(ctx, j.ID()); err == nil && cur.Status() == domain.StatusRunning {
			s.renewal = nil
			s.mu.Unlock()
			return h(ctx, j)
		}
	}
	s.mu.Unlock()
	return s.JobStore.Update(ctx, j)
}

func runnerOn(t *testing.T, w *world, store ports.JobStore, requests ports.Queue) *workers.Runner {
	t.Helper()
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: requests, Archives: w.queues[qArchive],
		Results: w.ports(nil).topic(tResults), Jobs: store, Users: w.users, Objects: w.objects,
		Annotator: w.annotatorOver(w.objects), Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Shutdown while a lease renewal is in flight: the renewal is not cut off
// by the shutdown (on a remote store it would land anyway while reporting
// cancellation, leaving the runner's copy of the job stale), so the release
// that follows succeeds: the job is PENDING at once, with no attempt charged.
func TestShutdownDuringLeaseRenewalReleasesJob(t *testing.T) {
	w := newWorld(t)
	w.cfg.Heartbeat = 5 * time.Millisecond
	w.signIn("ada")
	started := make(chan struct{})
	w.annotator.during = func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	renewing, respond := make(chan struct{}), make(chan struct{})
	store := &landsAnyway{JobStore: w.jobStore}
	store.renewal = func(ctx context.Context, j *domain.Job) (*domain.Job, error) {
		close(renewing)
		select {
		case <-ctx.Done(): // cancelled in flight: the request still reaches the store
			if _, err := w.jobStore.Update(context.Background(), j); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("renew: %w", ctx.Err())
		case <-respond:
			return w.jobStore.Update(ctx, j)
		}
	}
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	r := runnerOn(t, w, store, w.queues[qAnnotate])
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-started
	<-renewing
	cancel()
	time.Sleep(50 * time.Millisecond) // the store answers after the shutdown began
	close(respond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusPending || got.Attempts() != 0 {
		t.Fatalf("after shutdown: %s attempts %d (lease until %s)", got.Status(), got.Attempts(), got.LeaseUntil())
	}
	if s := w.stats(qAnnotate); s.Visible != 1 {
		t.Fatalf("request not handed back: %+v", s)
	}
}

// A renewal that landed while reporting failure (a timeout) leaves the
// runner one version behind; its next write conflicts, re-reads the job,
// finds it still running under its own claim and goes on: the run
// completes instead of being dropped as lost.
func TestAmbiguousLeaseRenewalDoesNotLoseTheRun(t *testing.T) {
	w := newWorld(t)
	w.cfg.Heartbeat = 5 * time.Millisecond
	w.signIn("ada")
	landed := make(chan struct{})
	store := &landsAnyway{JobStore: w.jobStore}
	store.renewal = func(ctx context.Context, j *domain.Job) (*domain.Job, error) {
		if _, err := w.jobStore.Update(ctx, j); err != nil {
			return nil, err
		}
		close(landed)
		return nil, errors.New("renew: i/o timeout")
	}
	w.annotator.during = func(ctx context.Context, _ string) error {
		select {
		case <-landed:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("no renewal")
		}
	}
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	q := ackQueue()
	if err := runnerOn(t, w, store, q).Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada"))); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusCompleted || got.Attempts() != 1 || len(q.DeleteCalls()) != 1 {
		t.Fatalf("job %s attempts %d, %d acknowledgements", got.Status(), got.Attempts(), len(q.DeleteCalls()))
	}
	assertResultKept(t, w, j.ID())
}

// The re-read never lets a runner write over a claim that is not its own,
// even one with the same attempt count taken at the same instant (its job
// was released and claimed again while the clock stood still).
func TestRunnerNeverWritesOverAnotherClaim(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	var id domain.JobID
	w.annotator.during = func(ctx context.Context, _ string) error {
		_, err := jobs.Mutate(ctx, w.jobStore, id, func(j *domain.Job) (bool, error) {
			if err := j.Release(); err != nil {
				return false, err
			}
			return true, j.Claim(w.clock.Now(), w.policy.Lease, w.policy.MaxAttempts)
		})
		return err
	}
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	id = j.ID()
	q := ackQueue()
	err := runnerOn(t, w, w.jobStore, q).Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada")))
	if err == nil || !strings.Contains(err.Error(), "lease lost") || len(q.DeleteCalls()) != 0 {
		t.Fatalf("run over another claim: %v, %d acknowledgements", err, len(q.DeleteCalls()))
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusRunning || got.Attempts() != 1 || w.jobStore.completions[j.ID()] != 0 {
		t.Fatalf("the other claim was overwritten: %s attempts %d", got.Status(), got.Attempts())
	}
}
