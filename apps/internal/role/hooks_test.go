package role

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func TestJobHooks(t *testing.T) {
	ctx := context.Background()
	store := memory.NewJobStore()
	for _, name := range []string{"poison-a.vcf", "fine.vcf"} {
		j, err := domain.NewJob(domain.JobID(strings.TrimSuffix(name, ".vcf")), "u", name, "inputs/u/x/input", 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if WithJobHooks(store, Hooks{}) != ports.JobStore(store) {
		t.Fatal("no hook set, yet the store was wrapped")
	}
	hooked := WithJobHooks(store, Hooks{FailJobWrites: "poison-", JobWriteDelay: 30 * time.Millisecond})
	poison, _ := store.Get(ctx, "poison-a")
	if _, err := hooked.Update(ctx, poison); !errors.Is(err, ErrInjected) {
		t.Fatalf("poisoned write: %v", err)
	}
	fine, _ := store.Get(ctx, "fine")
	start := time.Now()
	if _, err := hooked.Update(ctx, fine); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("write not delayed")
	}
	// Lost races are counted and logged with the job id.
	logs := &syncBuffer{}
	rt := NewRuntime(defaults(Annotator), logs)
	observed := rt.ObserveJobs(store)
	if _, err := observed.Update(ctx, fine); !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("stale write: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"conditional write lost to a concurrent update; backing off","role":"annotator","job":"fine"`) {
		t.Fatalf("logs: %s", logs.String())
	}
	rec := httptest.NewRecorder()
	rt.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "gas_job_write_conflicts_total 1") {
		t.Fatal("conflict not counted")
	}
}

func TestSlowAnnotatorWaitsAndHonoursCancel(t *testing.T) {
	a := WithAnnotateDelay(&gatedAnnotator{started: make(chan struct{}), release: make(chan struct{})}, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.AnnotateJob(ctx, strings.NewReader(""), io.Discard, engine.Job{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed annotation not cancelled: %v", err)
	}
}
