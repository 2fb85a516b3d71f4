package role

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/results"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadReadsVariablesAndFlagsWin(t *testing.T) {
	c, err := Load(Annotator, []string{"--free-window", "7s", "--annotation-db", "s3://b/k.gasdb", "--jobs-table", "flagged"},
		env(map[string]string{
			"GAS_FREE_WINDOW": "1m", "GAS_FREE_INPUT_LIMIT": "10KiB", "GAS_LEASE": "3s", "GAS_CONCURRENCY": "2",
			"GAS_AWS_PREFIX": "t1-", "GAS_JOBS_TABLE": "from-env", "GAS_LOG_LEVEL": "debug",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.FreeWindow != 7*time.Second || c.Policy.FreeInputLimit != 10<<10 || c.Policy.Lease != 3*time.Second {
		t.Fatalf("policy %+v", c.Policy)
	}
	if c.Annotator.Database != "s3://b/k.gasdb" || c.Pipeline.Concurrency != 2 || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("config %+v", c)
	}
	if c.AWS.Names.JobsTable != "flagged" || c.AWS.Names.UsersTable != "t1-users" {
		t.Fatalf("aws names %+v", c.AWS.Names)
	}
	if c.Addr != "127.0.0.1:9090" || c.ShutdownGrace != 25*time.Second || !c.DeadLetters {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadRefusesWhatCannotRun(t *testing.T) {
	for _, tc := range []struct {
		role Name
		env  map[string]string
		want string
	}{
		{Annotator, nil, "GAS_ANNOTATION_DB is required"},
		{Web, map[string]string{"GAS_OIDC_CLIENT_ID": "c"}, "GAS_SESSION_KEY"},
		{Web, map[string]string{"GAS_SESSION_KEY": strings.Repeat("k", 32)}, "GAS_OIDC_CLIENT_ID"},
		{Notifier, map[string]string{"GAS_BASE_URL": "gas.example.org"}, "GAS_BASE_URL"},
		{Archiver, map[string]string{"GAS_FREE_WINDOW": "soon"}, "GAS_FREE_WINDOW"},
		{Archiver, map[string]string{"GAS_FREE_INPUT_LIMIT": "-3"}, "GAS_FREE_INPUT_LIMIT"},
		{Thawer, map[string]string{"GAS_TEST_REFUSE_EXPEDITED": "*"}, "loopback"},
		{Archiver, map[string]string{"GAS_TEST_REFUSE_EXPEDITED": "*", "GAS_AWS_ENDPOINT": "https://s3.amazonaws.com"}, "loopback"},
		{Restorer, map[string]string{"GAS_COLD_STORAGE": "tape"}, "cold storage"},
		{Annotator, map[string]string{"GAS_ANNOTATION_DB": "x", "GAS_AUTOSCALING_GROUP": "gas-annotators"}, "GAS_INSTANCE_ID"},
		{Annotator, map[string]string{"GAS_ANNOTATION_DB": "x", "GAS_AUTOSCALING_GROUP": "g", "GAS_INSTANCE_ID": "i-1", "GAS_LIFECYCLE_POLL": "0s"},
			"GAS_LIFECYCLE_POLL"},
		{"cron", nil, "unknown role"},
	} {
		_, err := Load(tc.role, nil, env(tc.env))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err %v, want ErrConfig mentioning %q", tc.role, tc.env, err, tc.want)
		}
	}
	if _, err := Load(Thawer, []string{"--annotation-db", "x"}, env(nil)); !errors.Is(err, ErrConfig) {
		t.Errorf("a flag of another role was accepted: %v", err)
	}
	c, err := Load(Thawer, nil, env(map[string]string{"GAS_TEST_REFUSE_EXPEDITED": "*", "GAS_AWS_ENDPOINT": "http://127.0.0.1:5000"}))
	if err != nil || c.Hooks.RefuseExpedited != "*" {
		t.Fatalf("hook against a loopback server: %+v %v", c.Hooks, err)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"153600": 153600, "150KiB": 150 << 10, "150k": 150 << 10, "2GiB": 2 << 30, "3 MB": 3 << 20, "10B": 10} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "12XB", "KiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}

// The configuration table in docs/ is generated; this keeps it current.
func TestConfigurationDoc(t *testing.T) {
	const path = "../../../docs/configuration.md"
	want := Markdown()
	if *update {
		if err := os.MkdirAll("../../../docs", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/configuration.md is stale (%v); run go test ./apps/internal/role -run TestConfigurationDoc -update", err)
	}
	checkReadmeTables(t, want)
	for _, s := range append(Settings(), AWSSettings()...) {
		if !strings.Contains(want, "`"+s.Env+"`") || (s.Roles == nil || s.Roles[0] != bootstrapOnly) && !strings.Contains(want, "`--"+s.Flag()+"`") {
			t.Errorf("%s missing from the table", s.Env)
		}
	}
}

// checkReadmeTables keeps the README's configuration tables (between its
// configuration markers) equal to the generated ones: the README is what a
// new operator reads, docs/configuration.md the long form.
func checkReadmeTables(t *testing.T, doc string) {
	t.Helper()
	const path = "../../../README.md"
	const begin, end = "<!-- configuration:begin -->\n", "<!-- configuration:end -->"
	i := strings.Index(doc, "\n## ")
	if i < 0 {
		t.Fatal("generated configuration has no sections")
	}
	tables := strings.ReplaceAll(doc[i+1:], "\n## ", "\n### ")
	tables = "#" + tables // the first "## " heading, demoted too
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := string(readme)
	b, e := strings.Index(r, begin), strings.Index(r, end)
	if b < 0 || e < b {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	if *update {
		r = r[:b+len(begin)] + tables + r[e:]
		if err := os.WriteFile(path, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := r[b+len(begin) : e]; got != tables {
		t.Fatal("README.md's configuration tables are stale; run go test ./apps/internal/role -run TestConfigurationDoc -update")
	}
}

// world is one annotator role on the in-memory adapters, so shutdown can be
// tested deterministically.
type world struct {
	t       *testing.T
	rt      *Runtime
	store   *memory.JobStore
	queue   *memory.Queue
	jobsSvc *jobs.Service
	ann     *gatedAnnotator
	app     *App
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gatedAnnotator copies its input once released (or when ctx ends).
type gatedAnnotator struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedAnnotator) Reference() string { return "test-ref" }

func (g *gatedAnnotator) AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, _ engine.Job) (domain.Summary, error) {
	g.once.Do(func() { close(g.started) })
	select {
	case <-ctx.Done():
		return domain.Summary{}, ctx.Err()
	case <-g.release:
	}
	_, err := io.Copy(out, in)
	return domain.Summary{Reference: "test-ref"}, err
}

// newWorld is an annotator role on memory adapters; wrap, when given,
// wraps its annotator.
func newWorld(t *testing.T, grace time.Duration, wrap ...func(*Runtime, ports.Annotator) ports.Annotator) *world {
	t.Helper()
	clock := memory.NewSystemClock()
	bus, err := memory.OpenTopology(message.DefaultTopology(), clock)
	if err != nil {
		t.Fatal(err)
	}
	annotate := bus.Queue(message.QueueAnnotate).(*memory.Queue)
	store, users := memory.NewJobStore(), memory.NewUserStore()
	objects, err := memory.NewObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	c := defaults(Annotator)
	c.Addr = "127.0.0.1:0"
	c.ShutdownGrace = grace
	logs := &syncBuffer{}
	rt := NewRuntime(c, logs)
	u, _ := domain.NewUser("ada", "Ada", "ada@example.org", "", time.Now())
	if err := users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	js, err := jobs.NewService(store, users, objects, bus.Queue(message.QueueAnnotate), clock, memory.NewRandomIDs(),
		jobs.Config{Policy: c.Policy, InputPrefix: "inputs/", ResultPrefix: "results/"})
	if err != nil {
		t.Fatal(err)
	}
	ann := &gatedAnnotator{started: make(chan struct{}), release: make(chan struct{})}
	requests := NewDrainQueue(annotate, 1)
	var annotator ports.Annotator
	annotator, err = results.New(objects, results.Engines{ann}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range wrap {
		annotator = f(rt, annotator)
	}
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: requests, Archives: bus.Queue(message.QueueArchive), Results: bus.Topic(message.TopicJobResults),
		Jobs: rt.ObserveJobs(store), Users: users, Objects: objects, Annotator: annotator, Clock: clock},
		workers.Config{Policy: c.Policy, ResultPrefix: "results/", Wait: 50 * time.Millisecond, Logger: rt.Log})
	if err != nil {
		t.Fatal(err)
	}
	app := &App{Workers: []Worker{{Name: "runner", Run: r.Run, Queue: requests}},
		Ready: rt.Ready(func(ctx context.Context) error { _, err := annotate.Stats(ctx); return err })}
	return &world{t: t, rt: rt, store: store, queue: annotate, jobsSvc: js, ann: ann, app: app, logs: logs}
}

// serve runs the app until stop is called; it returns Serve's result.
func (w *world) serve() (stop func() error, addr func() string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.rt.Serve(ctx, w.app) }()
	return func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(20 * time.Second):
				w.t.Fatal("Serve did not return")
				return nil
			}
		}, func() string {
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				for _, line := range strings.Split(w.logs.String(), "\n") {
					var rec struct{ Msg, Addr string }
					if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
						return rec.Addr
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			w.t.Fatal("no listening log line")
			return ""
		}
}

func (w *world) submit() *domain.Job {
	w.t.Helper()
	j, err := w.jobsSvc.Upload(context.Background(), "ada", "in.vcf", strings.NewReader("##fileformat=VCFv4.2\n"))
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

func (w *world) job(id domain.JobID) *domain.Job {
	w.t.Helper()
	j, err := w.store.Get(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// SIGTERM while a job runs: the annotator stops taking work, says it is not
// ready, lets the job finish within the grace period, then exits cleanly.
func TestShutdownFinishesJobInFlight(t *testing.T) {
	w := newWorld(t, 10*time.Second)
	stop, addr := w.serve()
	base := "http://" + addr()
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	j := w.submit()
	<-w.ann.started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(5 * time.Second)
	for !w.rt.Draining() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("readyz while draining: %d %q", code, body)
	}
	select {
	case err := <-stopped:
		t.Fatalf("stopped before the job finished: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(w.ann.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted {
		t.Fatalf("job %s after graceful stop", got.Status())
	}
	if st, _ := w.queue.Stats(context.Background()); st != (ports.QueueStats{}) {
		t.Fatalf("request not acknowledged: %+v", st)
	}
	if !strings.Contains(w.logs.String(), `"msg":"in-flight work finished"`) {
		t.Fatalf("logs: %s", w.logs.String())
	}
}

// SIGTERM with a job that outlasts the grace period: it is released — the
// job back to PENDING, its request visible at once for another annotator.
func TestShutdownReleasesJobAfterGrace(t *testing.T) {
	w := newWorld(t, 300*time.Millisecond)
	stop, _ := w.serve()
	j := w.submit()
	<-w.ann.started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := w.job(j.ID())
	if got.Status() != domain.StatusPending || got.Attempts() != 0 {
		t.Fatalf("released job: %s, %d attempts", got.Status(), got.Attempts())
	}
	st, _ := w.queue.Stats(context.Background())
	if st.Visible != 1 {
		t.Fatalf("request not visible again at once: %+v", st)
	}
	if !strings.Contains(w.logs.String(), "grace period over") {
		t.Fatalf("logs: %s", w.logs.String())
	}
}

// A receive already waiting on the server when the drain begins is let
// finish (cutting a long poll short can still cost a message a visibility
// timeout); what it gets is handed back at once, and only then is the
// worker drained.
func TestDrainQueueHandsBackLateMessages(t *testing.T) {
	clock := memory.NewSystemClock()
	q, err := memory.NewQueue("q", clock)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDrainQueue(q, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []ports.Message, 1)
	go func() {
		ms, _ := d.Receive(ctx, 1, time.Minute, 5*time.Second)
		got <- ms
	}()
	time.Sleep(50 * time.Millisecond)
	d.Drain()
	select {
	case <-d.Drained():
		t.Fatal("drained while a receive was still waiting on the queue")
	case <-time.After(100 * time.Millisecond):
	}
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("worker not drained after its last receive returned")
	}
	if st, _ := q.Stats(context.Background()); st.Visible != 1 {
		t.Fatalf("late message not handed back: %+v", st)
	}
	cancel()
	if ms := <-got; len(ms) != 0 {
		t.Fatalf("drained receive returned %d messages", len(ms))
	}
	// New receives after the drain park at once.
	d2 := NewDrainQueue(q, 2)
	d2.Drain()
	ctx2, cancel2 := context.WithCancel(context.Background())
	for range 2 {
		go d2.Receive(ctx2, 1, time.Minute, 5*time.Second)
	}
	select {
	case <-d2.Drained():
	case <-time.After(2 * time.Second):
		t.Fatal("two parked receivers not drained")
	}
	cancel2()
}

func TestRunExitsWithUsageOnBadConfig(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(context.Background(), Annotator, nil, env(nil), &stderr, func(context.Context, *Runtime) (*App, func(), error) {
		t.Fatal("built despite a bad configuration")
		return nil, nil, nil
	})
	if code != ExitUsage || !strings.Contains(stderr.String(), "GAS_ANNOTATION_DB") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := Run(context.Background(), Thawer, []string{"--help"}, env(nil), &stderr, nil); code != ExitOK ||
		!strings.Contains(stderr.String(), "--free-window  $GAS_FREE_WINDOW (default 5m0s)") || strings.Contains(stderr.String(), "--annotation-db") {
		t.Fatalf("--help: exit %d\n%s", code, stderr.String())
	}
	stderr.Reset()
	code = Run(context.Background(), Archiver, nil, env(map[string]string{"GAS_ADDR": "127.0.0.1:0"}), &stderr,
		func(context.Context, *Runtime) (*App, func(), error) { return nil, nil, errors.New("no such queue") })
	if code != ExitFailure || !strings.Contains(stderr.String(), `"msg":"start failed"`) || !strings.Contains(stderr.String(), `"role":"archiver"`) {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// A worker that stops on its own is a failure of the role, not a clean exit.
func TestWorkerStoppingIsAFailure(t *testing.T) {
	c := defaults(Archiver)
	c.Addr = "127.0.0.1:0"
	rt := NewRuntime(c, io.Discard)
	err := rt.Serve(context.Background(), &App{Workers: []Worker{{Name: "w", Run: func(context.Context) error { return errors.New("boom") }}}})
	if err == nil || !strings.Contains(err.Error(), "worker w stopped unexpectedly: boom") {
		t.Fatalf("Serve = %v", err)
	}
}

// Every role's listener bounds slow clients: a connection trickling a
// request body a byte at a time is closed, and the web role serves
// /metrics on its own operations listener when GAS_METRICS_ADDR is set.
func TestListenersCutSlowClientsAndMetricsListenApart(t *testing.T) {
	c := defaults(Web)
	c.Addr, c.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0"
	var logs safeBuffer
	rt := NewRuntime(c, &logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Serve(ctx, &App{}) }()
	addrOf := func(msg string) string {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, l := range strings.Split(logs.String(), "\n") {
				var rec struct{ Msg, Addr string }
				if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == msg {
					return rec.Addr
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no %q log line:\n%s", msg, logs.String())
		return ""
	}
	ops, metrics := addrOf("listening"), addrOf("metrics listening")
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics listener: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, srv := range []*http.Server{rt.httpServer(rt.opsHandler(rt.Ready()))} {
		if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 10*time.Second || srv.IdleTimeout != 2*time.Minute {
			t.Fatalf("operations listener timeouts: header %s, request %s, idle %s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
		}
	}
	conn, err := net.Dial("tcp", ops)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	start := time.Now()
	closed := false
	for time.Since(start) < 20*time.Second && !closed {
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := conn.Read(make([]byte, 4096)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed = true // the answer (405) came at once; the close is what counts
		}
		if _, err := conn.Write([]byte("X")); err != nil {
			closed = true
		}
	}
	if !closed {
		t.Fatal("a request trickling its body was not cut within 20 s")
	}
	t.Logf("trickling request cut after %s", time.Since(start).Round(100*time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// safeBuffer is a bytes.Buffer safe for a logger and a reader at once.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// An elastic pool that shrank tells its drain queue: the drain completes
// when the receivers it still runs have parked, not the ones it had.
func TestDrainQueueFollowsAResizedPool(t *testing.T) {
	q, err := memory.NewQueue("q", memory.NewSystemClock())
	if err != nil {
		t.Fatal(err)
	}
	d := NewDrainQueue(q, 3)
	d.Drain()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Receive(ctx, 1, time.Minute, 5*time.Second)
	select {
	case <-d.Drained():
		t.Fatal("drained with one of three receivers parked")
	case <-time.After(100 * time.Millisecond):
	}
	d.Resize(1)
	select {
	case <-d.Drained():
	case <-time.After(2 * time.Second):
		t.Fatal("not drained after the pool shrank to its one parked receiver")
	}
}
