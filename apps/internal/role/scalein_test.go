package role

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The guard protects the instance while any job runs and clears the
// protection once the annotator has been idle for a while; a back-to-back
// job costs no call.
func TestGuardProtectsWhileBusy(t *testing.T) {
	s := memory.NewScaleIn()
	g := NewGuard(s, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	a := g.Hold(ctx)
	b := g.Hold(ctx)
	if on, n, _ := s.State(); !on || n != 1 {
		t.Fatalf("two jobs: protected %v after %d calls, want one call", on, n)
	}
	a()
	a() // done twice is done once
	time.Sleep(100 * time.Millisecond)
	if on, _, _ := s.State(); !on {
		t.Fatal("unprotected while a job still runs")
	}
	b()
	c := g.Hold(ctx) // back to back: the idle timer is cancelled
	c()
	waitFor(t, "unprotected after the idle time", func() bool { on, _, _ := s.State(); return !on })
	if _, n, _ := s.State(); n != 2 {
		t.Fatalf("%d calls for one busy spell, want 2", n)
	}
}

// An unreachable Auto Scaling API never stops the work: the guard tries
// again at the next job.
func TestGuardSurvivesFailures(t *testing.T) {
	s := memory.NewScaleIn()
	s.Err = errors.New("throttled")
	g := NewGuard(s, time.Hour, slog.New(slog.DiscardHandler))
	g.Hold(context.Background())()
	s.Err = nil
	done := g.Hold(context.Background())
	defer done()
	if on, _, _ := s.State(); !on {
		t.Fatal("not protected once the API answered again")
	}
}

// The group terminating the instance shuts the annotator down as SIGTERM
// would — the job in flight finishes within the grace period — and then
// lets the termination go on. The instance was protected while the job
// ran.
func TestTerminationDrainsThenProceeds(t *testing.T) {
	s := memory.NewScaleIn()
	w := newWorld(t, 10*time.Second, func(rt *Runtime, a ports.Annotator) ports.Annotator {
		return GuardAnnotator(a, NewGuard(s, time.Hour, rt.Log))
	})
	w.rt.Config.ScaleIn.Poll = 10 * time.Millisecond
	w.app.ScaleIn = s
	done := make(chan error, 1)
	go func() { done <- w.rt.Serve(context.Background(), w.app) }()
	j := w.submit()
	<-w.ann.started
	if on, _, _ := s.State(); !on {
		t.Fatal("instance not protected while its job runs")
	}
	s.Terminate()
	waitFor(t, "draining", w.rt.Draining)
	if _, _, proceeded := s.State(); proceeded {
		t.Fatal("termination let go on before the job finished")
	}
	close(w.ann.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after the termination")
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted {
		t.Fatalf("job %s after the termination", got.Status())
	}
	if _, _, proceeded := s.State(); !proceeded {
		t.Fatal("termination not let go on")
	}
	if !strings.Contains(w.logs.String(), "the autoscaling group is terminating this instance") {
		t.Fatalf("logs: %s", w.logs.String())
	}
}
