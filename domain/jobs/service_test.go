package jobs_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
	"github.com/gasproject/gas/ports/mocks"
)

type fixture struct {
	svc       *jobs.Service
	store     *memory.JobStore
	users     *memory.UserStore
	objects   *memory.ObjectStore
	published [][]byte
	publish   func() error // nil: succeed
	clock     *memory.FakeClock
	policy    domain.Policy
}

var ctx = context.Background()

func newFixture(t *testing.T, configure ...func(*jobs.Config)) *fixture {
	t.Helper()
	f := &fixture{store: memory.NewJobStore(), users: memory.NewUserStore(), clock: memory.NewFakeClock(time.Time{})}
	var err error
	f.objects, err = memory.NewObjectStore(memory.WithObjectClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	f.policy = domain.DefaultPolicy()
	f.policy.FreeInputLimit = 100
	f.policy.MaxInputSize = 1000
	pub := &mocks.QueueMock{SendFunc: func(_ context.Context, m ports.Outgoing) error {
		if f.publish != nil {
			if err := f.publish(); err != nil {
				return err
			}
		}
		if b, err := message.Decode(m.Body); err != nil || m.Group == "" || m.Group != string(b.User) || m.Delay != 0 {
			t.Errorf("request %s sent in group %q after %s, want its user's group at once", m.Body, m.Group, m.Delay)
		}
		f.published = append(f.published, m.Body)
		return nil
	}}
	cfg := jobs.Config{Policy: f.policy, InputPrefix: "inputs/", ResultPrefix: "results/"}
	for _, c := range configure {
		c(&cfg)
	}
	f.svc, err = jobs.NewService(f.store, f.users, f.objects, pub, f.clock, memory.NewSequenceIDs("job"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []domain.UserID{"free", "premium"} {
		u, _ := domain.NewUser(id, string(id), "", "", f.clock.Now())
		if id == "premium" {
			u.Upgrade(f.clock.Now())
		}
		if err := f.users.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) requests(t *testing.T) []message.Body {
	t.Helper()
	var out []message.Body
	for _, b := range f.published {
		m, err := message.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestNewServiceRejectsBadConfig(t *testing.T) {
	p := domain.DefaultPolicy()
	ok := jobs.Config{Policy: p, InputPrefix: "in/", ResultPrefix: "out/"}
	store, users, pub := memory.NewJobStore(), memory.NewUserStore(), &mocks.QueueMock{}
	objects, _ := memory.NewObjectStore()
	clock, ids := memory.NewSystemClock(), memory.NewRandomIDs()
	if _, err := jobs.NewService(store, users, objects, pub, clock, ids, ok); err != nil {
		t.Fatal(err)
	}
	bad := []jobs.Config{
		{Policy: domain.Policy{}, InputPrefix: "in/", ResultPrefix: "out/"},
		{Policy: p, ResultPrefix: "out/"},
		{Policy: p, InputPrefix: "x/", ResultPrefix: "x/"},
	}
	for i, c := range bad {
		if _, err := jobs.NewService(store, users, objects, pub, clock, ids, c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if _, err := jobs.NewService(nil, users, objects, pub, clock, ids, ok); err == nil {
		t.Error("nil job store accepted")
	}
}

func TestUploadStoresAndRequests(t *testing.T) {
	f := newFixture(t)
	body := strings.Repeat("x", 100) // exactly the free limit
	j, err := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if j.Status() != domain.StatusPending || j.InputSize() != 100 || j.InputKey() != "inputs/free/"+string(j.ID())+"/input" {
		t.Fatalf("job %+v", j.Snapshot())
	}
	r, err := f.objects.Get(ctx, j.InputKey())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != body {
		t.Fatal("stored input differs")
	}
	reqs := f.requests(t)
	if len(reqs) != 1 || reqs[0].Kind != message.KindJobRequest || reqs[0].Job != j.ID() || reqs[0].User != "free" {
		t.Fatalf("requests %+v", reqs)
	}
}

// countingReader records how much of the body was consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestUploadOverLimitStoresNothing(t *testing.T) {
	for _, c := range []struct {
		user  domain.UserID
		size  int
		limit int64
	}{{"free", 101, 100}, {"premium", 1001, 1000}} {
		f := newFixture(t)
		body := &countingReader{r: strings.NewReader(strings.Repeat("x", c.size*50))}
		_, err := f.svc.Upload(ctx, c.user, "a.vcf", body)
		var tl *domain.InputTooLargeError
		if !errors.As(err, &tl) || tl.Limit != c.limit || !tl.AtLeast {
			t.Fatalf("%s: %v", c.user, err)
		}
		if body.n > c.limit+64*1024 {
			t.Errorf("%s: read %d bytes of an oversize body; it should stop near the limit", c.user, body.n)
		}
		if _, err := f.objects.Head(ctx, "inputs/"+string(c.user)+"/job-000001/input"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("%s: refused upload was stored: %v", c.user, err)
		}
		if js, _, _ := f.store.ListByUser(ctx, c.user, "", 10); len(js) != 0 || len(f.published) != 0 {
			t.Errorf("%s: refused upload made a job or request", c.user)
		}
	}
}

func TestUploadRejectsNonVCFBeforeReading(t *testing.T) {
	f := newFixture(t)
	body := &countingReader{r: strings.NewReader("data")}
	if _, err := f.svc.Upload(ctx, "free", "notes.txt", body); !errors.Is(err, domain.ErrNotVCF) {
		t.Fatalf("got %v", err)
	}
	if body.n != 0 {
		t.Fatal("body read for a refused name")
	}
}

func TestUploadPublishFailureWithdrawsJob(t *testing.T) {
	f := newFixture(t)
	f.publish = func() error { return errors.New("topic down") }
	if _, err := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("x")); err == nil {
		t.Fatal("publish failure not reported")
	}
	js, _, _ := f.store.ListByUser(ctx, "free", "", 10)
	if len(js) != 1 || js[0].Status() != domain.StatusCancelled {
		t.Fatalf("job left behind: %+v", js)
	}
}

func TestSubmitChecksUploadedSizeAndDeletesOversize(t *testing.T) {
	f := newFixture(t)
	form, id, err := f.svc.NewUpload(ctx, "free", "/jobs/new")
	if err != nil {
		t.Fatal(err)
	}
	if form.Key != "inputs/free/"+string(id)+"/input" {
		t.Fatalf("form key %q", form.Key)
	}
	// The browser ignored the form's limit (or the store did not enforce it).
	if _, err := f.objects.Put(ctx, form.Key, strings.NewReader(strings.Repeat("x", 101))); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{})
	var tl *domain.InputTooLargeError
	if !errors.As(err, &tl) || tl.Size != 101 || tl.Limit != 100 || tl.AtLeast {
		t.Fatalf("oversize submit: %v", err)
	}
	if _, err := f.objects.Head(ctx, form.Key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatal("oversize upload not deleted")
	}
	if len(f.published) != 0 {
		t.Fatal("request published for a refused upload")
	}
}

func TestSubmitIsIdempotentAndHealsFailedPublish(t *testing.T) {
	f := newFixture(t)
	_, id, err := f.svc.NewUpload(ctx, "free", "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{}); !errors.Is(err, jobs.ErrNoUpload) {
		t.Fatalf("submit before upload: %v", err)
	}
	if _, err := f.objects.Put(ctx, jobs.InputKey("inputs/", "free", id), strings.NewReader("##vcf")); err != nil {
		t.Fatal(err)
	}
	f.publish = func() error { return errors.New("topic down") }
	if _, err := f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{}); err == nil {
		t.Fatal("publish failure not reported")
	}
	f.publish = nil
	j, err := f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j2, err := f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{})
	if err != nil || j2.ID() != j.ID() || j.InputSize() != 5 {
		t.Fatalf("second submit: %v", err)
	}
	if n := len(f.requests(t)); n != 2 {
		t.Fatalf("%d requests published, want one per successful submit of the pending job", n)
	}
	if _, err := f.svc.Submit(ctx, "premium", id, "a.vcf", domain.JobOptions{}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("someone else's id: %v", err)
	}
}

func TestSubmitRefusesNonVCFAndDeletesUpload(t *testing.T) {
	f := newFixture(t)
	_, id, _ := f.svc.NewUpload(ctx, "free", "/")
	key := jobs.InputKey("inputs/", "free", id)
	f.objects.Put(ctx, key, strings.NewReader("x"))
	if _, err := f.svc.Submit(ctx, "free", id, "a.csv", domain.JobOptions{}); !errors.Is(err, domain.ErrNotVCF) {
		t.Fatalf("got %v", err)
	}
	if _, err := f.objects.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatal("refused upload kept")
	}
	if _, err := f.svc.Submit(ctx, "free", "../etc", "a.vcf", domain.JobOptions{}); !errors.Is(err, jobs.ErrInvalidRequest) {
		t.Fatalf("path-like id: %v", err)
	}
}

func TestNewUploadUsesTierLimit(t *testing.T) {
	f := newFixture(t)
	var limits []int64
	objects := &mocks.ObjectStoreMock{PresignUploadFunc: func(_ context.Context, key string, max int64, _ string, _ time.Duration) (ports.UploadForm, error) {
		limits = append(limits, max)
		return ports.UploadForm{Key: key}, nil
	}}
	svc, _ := jobs.NewService(f.store, f.users, objects, &mocks.QueueMock{}, f.clock, memory.NewSequenceIDs("j"),
		jobs.Config{Policy: f.policy, InputPrefix: "inputs/", ResultPrefix: "results/"})
	svc.NewUpload(ctx, "free", "/")
	svc.NewUpload(ctx, "premium", "/")
	if len(limits) != 2 || limits[0] != 100 || limits[1] != 1000 {
		t.Fatalf("limits %v", limits)
	}
	if _, _, err := svc.NewUpload(ctx, "stranger", "/"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestGetListCancelOwnerOnly(t *testing.T) {
	f := newFixture(t)
	var ids []domain.JobID
	for range 5 {
		j, err := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID())
		f.clock.Advance(time.Second)
	}
	if _, err := f.svc.Get(ctx, "premium", ids[0]); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("other user's job: %v", err)
	}
	if _, _, err := f.svc.Download(ctx, "premium", ids[0]); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("other user's download: %v", err)
	}
	if err := f.svc.Cancel(ctx, "premium", ids[0]); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("other user's cancel: %v", err)
	}
	var seen []domain.JobID
	cursor := ""
	for {
		page, next, err := f.svc.List(ctx, "free", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			seen = append(seen, j.ID())
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("list order %v (uploaded %v)", seen, ids)
	}
	if _, _, err := f.svc.List(ctx, "free", "", 0); !errors.Is(err, jobs.ErrInvalidRequest) {
		t.Fatalf("limit 0: %v", err)
	}
	if err := f.svc.Cancel(ctx, "free", ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Cancel(ctx, "free", ids[0]); err != nil {
		t.Fatalf("cancel twice: %v", err)
	}
	j, d, err := f.svc.Download(ctx, "free", ids[0])
	if err != nil || j.Status() != domain.StatusCancelled || d.State != domain.DownloadNotReady {
		t.Fatalf("cancelled: %v %s %s", err, j.Status(), d.State)
	}
}

func TestCancelRunningJobRefused(t *testing.T) {
	f := newFixture(t)
	j, _ := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("x"))
	jobs.Mutate(ctx, f.store, j.ID(), func(j *domain.Job) (bool, error) { return true, j.Claim(f.clock.Now(), time.Minute, 3) })
	if err := f.svc.Cancel(ctx, "free", j.ID()); !errors.Is(err, domain.ErrIllegalTransition) {
		t.Fatalf("cancel running: %v", err)
	}
}

func TestMutateRetriesConflictsBoundedly(t *testing.T) {
	f := newFixture(t)
	j, _ := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("x"))
	conflicts := 2
	var applied int
	store := &mocks.JobStoreMock{
		GetFunc: f.store.Get,
		UpdateFunc: func(ctx context.Context, j *domain.Job) (*domain.Job, error) {
			if conflicts > 0 {
				conflicts--
				return nil, ports.ErrConflict
			}
			return f.store.Update(ctx, j)
		},
	}
	got, err := jobs.Mutate(ctx, store, j.ID(), func(j *domain.Job) (bool, error) {
		applied++
		return true, j.Cancel(f.clock.Now())
	})
	if err != nil || got.Status() != domain.StatusCancelled || applied != 3 || len(store.GetCalls()) != 3 {
		t.Fatalf("err %v applied %d gets %d", err, applied, len(store.GetCalls()))
	}
	store.UpdateFunc = func(context.Context, *domain.Job) (*domain.Job, error) { return nil, ports.ErrConflict }
	_, err = jobs.Mutate(ctx, store, j.ID(), func(j *domain.Job) (bool, error) { return true, nil })
	if !errors.Is(err, ports.ErrConflict) || len(store.UpdateCalls()) != 3+jobs.MaxConflictRetries {
		t.Fatalf("endless conflict: %v after %d updates", err, len(store.UpdateCalls()))
	}
	// No write wanted: nothing written.
	before := len(store.UpdateCalls())
	if _, err := jobs.Mutate(ctx, store, j.ID(), func(*domain.Job) (bool, error) { return false, nil }); err != nil || len(store.UpdateCalls()) != before {
		t.Fatal("no-op change wrote")
	}
}

func TestKeyLayout(t *testing.T) {
	k := jobs.ResultKeys("results/", "u 1", "j1", "v3")
	if k.VCF != "results/u%201/j1/v3/annotated.vcf" || k.Summary != "results/u%201/j1/v3/summary.json" {
		t.Fatalf("keys %+v", k)
	}
	r := jobs.RestoredKeys(k, "retrieval-7")
	if r.Summary != k.Summary || r.Log != k.Log || r.VCF == k.VCF || !strings.HasPrefix(r.VCF, "results/u%201/j1/r") || r.Index == k.Index {
		t.Fatalf("restored keys %+v", r)
	}
	if again := jobs.RestoredKeys(k, "retrieval-7"); again != r {
		t.Fatal("restored keys not deterministic")
	}
	if jobs.RestoredKeys(k, "retrieval-8").VCF == r.VCF {
		t.Fatal("two retrievals share keys")
	}
	noIndex := k
	noIndex.Index = ""
	if jobs.RestoredKeys(noIndex, "x").Index != "" {
		t.Fatal("index key invented")
	}
}

func TestJobOfArchiveKey(t *testing.T) {
	j, _ := domain.NewJob("job-7", "user/x", "a.vcf", "k", 1, time.Now())
	key := jobs.ArchiveKey("archive/", j)
	if id, ok := jobs.JobOfArchiveKey("archive/", key); !ok || id != "job-7" {
		t.Fatalf("%q -> %q %v", key, id, ok)
	}
	for _, bad := range []string{"other/u/job-7/x.tar", "archive/u/job-7", "archive/job-7.tar"} {
		if _, ok := jobs.JobOfArchiveKey("archive/", bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
