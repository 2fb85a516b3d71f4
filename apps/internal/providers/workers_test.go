package providers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

type copyAnnotator struct{}

func (copyAnnotator) Reference() string { return "copy" }

func (copyAnnotator) AnnotateJob(_ context.Context, in io.Reader, out io.Writer, _ engine.Job) (domain.Summary, error) {
	_, err := io.Copy(out, in)
	return domain.Summary{}, err
}

// workerSetFor builds every worker group for a process playing r on memory
// ports, as the role's injector (one group) or local mode (all) would.
func workerSetFor(t *testing.T, r role.Name, deadLetters bool) (WorkerSet, *role.Runtime, *message.Bus) {
	t.Helper()
	rt := &role.Runtime{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics(),
		Config: role.Config{Role: r, Policy: domain.DefaultPolicy(), BaseURL: "http://127.0.0.1:8080", DeadLetters: deadLetters}}
	clock := SystemClock()
	bus, err := MemoryMessages(clock)
	if err != nil {
		t.Fatal(err)
	}
	store, users := MemoryJobStore(), MemoryUserStore()
	objects, err := MemoryObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	s := RoleSettings(rt)
	cfg := RolePipelineConfig(rt, s)
	archive, cleanup, err := MemoryArchive(clock, bus, LocalOptions{}, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	svc, err := ArchivalService(store, users, objects, archive, bus, clock, s)
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := MemoryOutbox(clock)
	if err != nil {
		t.Fatal(err)
	}
	var ws WorkerSet
	ann, err := ResultsAnnotator(objects, results.Engines{copyAnnotator{}})
	if err != nil {
		t.Fatal(err)
	}
	if ws.Runner, err = RunnerWorkers(rt, cfg, bus, store, users, objects, ann, clock); err != nil {
		t.Fatal(err)
	}
	if ws.Archival, err = ArchivalWorkers(rt, cfg, bus, svc, clock); err != nil {
		t.Fatal(err)
	}
	composer, err := Composer(s)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Notifier, err = NotifierWorkers(rt, cfg, bus, store, users, composer, outbox, clock); err != nil {
		t.Fatal(err)
	}
	if ws.Reconciler, err = ReconcilerWorkers(rt, cfg, bus, store, users, clock); err != nil {
		t.Fatal(err)
	}
	return ws, rt, bus
}

// workerNames are the sorted names of the process's workers.
func workerNames(t *testing.T, ws WorkerSet, rt *role.Runtime, bus *message.Bus) []string {
	t.Helper()
	all, err := ws.Workers(rt, bus)
	if err != nil {
		t.Fatalf("%s: %v", rt.Config.Role, err)
	}
	var out []string
	for _, w := range all {
		out = append(out, w.Name)
	}
	slices.Sort(out)
	return out
}

// scrape reads /metrics.
func scrape(m *web.Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// TestEachProcessRunsTheWorkersTheTopologyGivesIt: every AWS role gets the
// worker of the queue it consumes (the notifier also every dead-letter
// queue, the reconciler role the reconciler), local mode gets them all,
// and /metrics watches each queue (and the parked queue where dead letters
// end).
func TestEachProcessRunsTheWorkersTheTopologyGivesIt(t *testing.T) {
	dead := []string{"dead-letters:annotate", "dead-letters:archive", "dead-letters:notify", "dead-letters:restore", "dead-letters:thaw"}
	for r, want := range map[role.Name][]string{
		role.Annotator:  {"annotate"},
		role.Archiver:   {"archive"},
		role.Thawer:     {"thaw"},
		role.Restorer:   {"restore"},
		role.Notifier:   append(slices.Clone(dead), "notify"),
		role.Reconciler: {"reconciler"},
		role.Local:      append([]string{"annotate", "archive"}, append(slices.Clone(dead), "notify", "reconciler", "restore", "thaw")...),
		role.Web:        nil,
	} {
		ws, rt, bus := workerSetFor(t, r, true)
		if got := workerNames(t, ws, rt, bus); !slices.Equal(got, want) {
			t.Errorf("%s runs %v, want %v", r, got, want)
		}
		metrics := scrape(rt.Metrics)
		for _, w := range want {
			q, dead := strings.CutPrefix(w, "dead-letters:")
			switch {
			case dead:
				q = message.DeadLetterName(q)
			case w == "reconciler":
				q = message.QueueParked
			}
			if !strings.Contains(metrics, `queue="`+q+`"`) {
				t.Errorf("%s: /metrics does not watch queue %s", r, q)
			}
		}
	}
	// Without GAS_DEAD_LETTERS the notifier only e-mails.
	ws, rt, bus := workerSetFor(t, role.Notifier, false)
	if got := workerNames(t, ws, rt, bus); !slices.Equal(got, []string{"notify"}) {
		t.Errorf("notifier without dead letters runs %v", got)
	}
}

// TestAQueueWithoutItsWorkerFailsAtStart: a process whose injector left
// out a group its roles need refuses to start, naming the queues.
func TestAQueueWithoutItsWorkerFailsAtStart(t *testing.T) {
	ws, rt, bus := workerSetFor(t, role.Local, true)
	ws.Archival = nil
	_, err := ws.Workers(rt, bus)
	for _, q := range []string{"archive", "thaw", "restore"} {
		if err == nil || !strings.Contains(err.Error(), "queue "+q) {
			t.Errorf("missing archival workers: %v, want queue %s named", err, q)
		}
	}
	app, err := WorkerApp(rt, WorkerSet{Runner: ws.Runner}, bus, MemoryJobStore())
	if err == nil || app != nil {
		t.Fatalf("WorkerApp started without the notifier's workers")
	}
	full, _, _ := workerSetFor(t, role.Local, true)
	full.Reconciler = nil
	if _, err := full.Workers(rt, bus); err == nil ||
		!strings.Contains(err.Error(), "reconciler") {
		t.Errorf("local mode without its reconciler: %v", err)
	}
}

// TestReconcilerRoleIsReadyWithoutAQueue: the reconciler role's app has one
// worker and no queue of its own; it is ready while the jobs table answers.
func TestReconcilerRoleIsReadyWithoutAQueue(t *testing.T) {
	ws, rt, bus := workerSetFor(t, role.Reconciler, true)
	app, err := WorkerApp(rt, WorkerSet{Reconciler: ws.Reconciler}, bus, MemoryJobStore())
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Workers) != 1 || app.Workers[0].Queue != nil {
		t.Fatalf("reconciler app: %+v", app.Workers)
	}
	if err := app.Ready(context.Background()); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	if m := scrape(rt.Metrics); !strings.Contains(m, `queue="annotate"`) || !strings.Contains(m, `queue="parked"`) {
		t.Fatalf("the reconciler role does not watch the annotate and parked queues:\n%s", m)
	}
}

// TestWorkerAppIsReadyWhileItsQueuesAnswer runs the notifier role's app.
func TestWorkerAppIsReadyWhileItsQueuesAnswer(t *testing.T) {
	ws, rt, bus := workerSetFor(t, role.Notifier, true)
	app, err := WorkerApp(rt, WorkerSet{Notifier: ws.Notifier}, bus, failingJobs{MemoryJobStore()})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Workers) != 6 || app.Handler != nil {
		t.Fatalf("notifier app: %d workers, handler %v", len(app.Workers), app.Handler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := app.Ready(ctx); err == nil || !strings.Contains(err.Error(), "jobs table") {
		t.Fatalf("ready with an unreachable jobs table: %v", err)
	}
}

type failingJobs struct{ ports.JobStore }

func (failingJobs) Get(context.Context, domain.JobID) (*domain.Job, error) {
	return nil, io.ErrUnexpectedEOF
}
