package role

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gasproject/gas/ports"
)

// Guard keeps an instance protected from scale-in while it holds work:
// protected as a job starts, unprotected once it has been idle for a
// while (one Auto Scaling call per busy spell, not two per job). A
// failed call is logged and tried again at the next job: protection is
// an optimisation, the termination lifecycle hook the guarantee.
type Guard struct {
	s     ports.ScaleIn
	after time.Duration
	log   *slog.Logger

	mu        sync.Mutex
	busy      int
	protected bool
	idle      *time.Timer
}

// NewGuard guards work on s, unprotecting after idle.
func NewGuard(s ports.ScaleIn, idle time.Duration, log *slog.Logger) *Guard {
	return &Guard{s: s, after: idle, log: log}
}

// Hold marks work started; call the returned function when it is done.
func (g *Guard) Hold(ctx context.Context) (done func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy++
	if g.idle != nil {
		g.idle.Stop()
		g.idle = nil
	}
	if !g.protected {
		if err := g.s.Protect(context.WithoutCancel(ctx), true); err != nil {
			g.log.WarnContext(ctx, "could not protect the instance from scale-in", "err", err)
		} else {
			g.protected = true
			g.log.InfoContext(ctx, "instance protected from scale-in while it works")
		}
	}
	var once sync.Once
	return func() { once.Do(g.release) }
}

func (g *Guard) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	if g.busy == 0 && g.protected {
		g.idle = time.AfterFunc(g.after, g.unprotect)
	}
}

func (g *Guard) unprotect() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy > 0 || !g.protected {
		return
	}
	if err := g.s.Protect(context.Background(), false); err != nil {
		g.log.Warn("could not clear the instance's scale-in protection", "err", err)
		return
	}
	g.protected = false
	g.log.Info("instance idle: scale-in protection cleared")
}

// GuardedAnnotator holds a Guard while each job is annotated.
type GuardedAnnotator struct {
	ports.Annotator
	guard *Guard
}

// GuardAnnotator wraps a.
func GuardAnnotator(a ports.Annotator, g *Guard) *GuardedAnnotator {
	return &GuardedAnnotator{Annotator: a, guard: g}
}

// Annotate annotates under the guard.
func (a *GuardedAnnotator) Annotate(ctx context.Context, r ports.AnnotationRequest) (ports.Annotated, error) {
	done := a.guard.Hold(ctx)
	defer done()
	return a.Annotator.Annotate(ctx, r)
}

// watchTermination closes the returned channel once the group is
// terminating the instance (polled every interval until ctx ends).
func (rt *Runtime) watchTermination(ctx context.Context, s ports.ScaleIn, interval time.Duration) <-chan struct{} {
	c := make(chan struct{})
	if s == nil {
		return c
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		warned := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			yes, err := s.Terminating(ctx)
			switch {
			case err != nil && !warned && ctx.Err() == nil:
				rt.Log.Warn("could not read the instance's lifecycle state", "err", err)
				warned = true
			case yes:
				close(c)
				return
			}
		}
	}()
	return c
}
