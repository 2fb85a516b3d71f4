// Package role is the runtime every AWS role binary shares (apps/web,
// apps/annotator, apps/archiver, apps/thawer, apps/restorer,
// apps/notifier): configuration from environment variables and flags,
// JSON logs, /healthz, /readyz and Prometheus /metrics, and the graceful
// SIGTERM that makes scaling in lose nothing — workers stop taking
// messages, let in-flight work finish for a grace period, then release
// what is left so another instance picks it up at once.
//
// A role's main only names the role and hands its Wire injector to Main;
// what the role runs is decided by the injector's providers
// (apps/internal/providers/roles.go).
package role

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/pool"
)

// Exit statuses scripts and orchestrators can rely on.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime failure: unreachable dependency, crashed worker
	ExitUsage   = 2 // the configuration was wrong
)

// Runtime is what the injector gets besides a context: the configuration
// and the process-wide logger and metrics registry.
type Runtime struct {
	Config  Config
	Log     *slog.Logger
	Metrics *web.Metrics
	// Pool is the elastic annotator pool when the process runs one
	// (Pipeline.RunnerPool), for its status page; set while the workers
	// are built, before anything is served.
	Pool *pool.Pool

	draining atomic.Bool
}

// NewRuntime makes a runtime for c logging to w.
func NewRuntime(c Config, w io.Writer) *Runtime {
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.LogLevel})).With("role", string(c.Role))
	return &Runtime{Config: c, Log: log, Metrics: web.NewMetrics()}
}

// Draining reports whether shutdown has begun; /readyz fails from then on
// so a load balancer stops sending traffic.
func (rt *Runtime) Draining() bool { return rt.draining.Load() }

// ErrDraining is what /readyz reports during shutdown.
var ErrDraining = errors.New("shutting down")

// Ready combines readiness checks with the draining state.
func (rt *Runtime) Ready(checks ...func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if rt.Draining() {
			return ErrDraining
		}
		var errs []error
		for _, c := range checks {
			if err := c(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

// Worker is one queue consumer of a role.
type Worker struct {
	// Name labels the worker in logs ("runner", "dead-letters:annotate").
	Name string
	// Run loops until its context is cancelled (pipeline workers' Run).
	Run func(ctx context.Context) error
	// Queue is the consumer's queue as the worker sees it, so shutdown can
	// stop its receives and know when it is idle.
	Queue *DrainQueue
}

// App is what a role runs.
type App struct {
	// Handler serves the web application (it has its own health, readiness
	// and metrics routes); nil serves only the operations endpoints.
	Handler http.Handler
	Workers []Worker
	// Ready reports whether the role's dependencies are reachable.
	Ready func(ctx context.Context) error
}

// Build is a role's Wire injector.
type Build func(ctx context.Context, rt *Runtime) (*App, func(), error)

// Main runs role r with build and exits: the whole main of a role binary.
func Main(r Name, build Build) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, r, os.Args[1:], os.Getenv, os.Stderr, build)
	stop()
	os.Exit(code)
}

// Run is Main without the process: it reads the configuration, builds the
// role and serves it until ctx is cancelled, returning the exit status.
func Run(ctx context.Context, r Name, args []string, getenv func(string) string, stderr io.Writer, build Build) int {
	c, err := Load(r, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, Usage(r))
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "gas %s: %v\nsee docs/configuration.md for every variable and flag\n", r, err)
		return ExitUsage
	}
	rt := NewRuntime(c, stderr)
	slog.SetDefault(rt.Log) // adapters that log through slog.Default log JSON too
	start := time.Now()
	app, cleanup, err := build(ctx, rt)
	if err != nil {
		rt.Log.Error("start failed", "err", err)
		return ExitFailure
	}
	defer cleanup()
	rt.Log.Info("started", "took", time.Since(start).Round(time.Millisecond).String(), "workers", len(app.Workers))
	if err := rt.Serve(ctx, app); err != nil {
		rt.Log.Error("stopped with an error", "err", err)
		return ExitFailure
	}
	rt.Log.Info("stopped")
	return ExitOK
}

// Serve listens on the configured address and runs the workers until ctx
// is cancelled, then shuts down gracefully (see the package comment). A
// worker that stops on its own, or a listener that fails, is an error.
func (rt *Runtime) Serve(ctx context.Context, app *App) error {
	ln, err := net.Listen("tcp", rt.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", rt.Config.Addr, err)
	}
	return rt.ServeOn(ctx, ln, app)
}

// ServeOn is Serve on a listener the caller opened: local mode listens
// before it builds the app, so links carry the port it got.
func (rt *Runtime) ServeOn(ctx context.Context, ln net.Listener, app *App) error {
	ready := app.Ready
	if ready == nil {
		ready = rt.Ready()
	}
	srv := rt.httpServer(app.Handler)
	if app.Handler == nil {
		srv = rt.httpServer(rt.opsHandler(ready))
	}
	failed := make(chan error, len(app.Workers)+2)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("http server: %w", err)
		}
	}()
	rt.Log.Info("listening", "addr", ln.Addr().String())
	ops, err := rt.serveOps(ready, failed)
	if err != nil {
		_ = srv.Close()
		return err
	}
	if wait := cmp.Or(rt.Config.Pipeline.Wait, 20*time.Second); len(app.Workers) > 0 && rt.Config.ShutdownGrace <= wait {
		rt.Log.Warn("GAS_SHUTDOWN_GRACE is not longer than GAS_POLL_WAIT: an idle worker's last long poll may be cut short on SIGTERM, hiding a message for a visibility timeout",
			"grace", rt.Config.ShutdownGrace.String(), "poll_wait", wait.String())
	}

	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, w := range app.Workers {
		wg.Go(func() {
			err := w.Run(work)
			if work.Err() == nil {
				failed <- fmt.Errorf("worker %s stopped unexpectedly: %v", w.Name, err)
			}
		})
	}

	var cause error
	select {
	case <-ctx.Done():
		rt.Log.Info("shutting down", "grace", rt.Config.ShutdownGrace.String())
	case cause = <-failed:
		rt.Log.Error("shutting down after a failure", "err", cause)
	}
	rt.draining.Store(true)
	deadline := time.Now().Add(rt.Config.ShutdownGrace)
	rt.drain(app.Workers, deadline)
	stopWork() // releases whatever is still in flight
	wg.Wait()
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(5*time.Second))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		rt.Log.Warn("http shutdown incomplete", "err", err)
	}
	if ops != nil {
		_ = ops.Shutdown(sctx)
	}
	return cause
}

// httpServer is a listener's server, hardened against slow clients:
// headers within 10 s, idle keep-alive connections closed after 2 min, and
// for the operations endpoints (no request bodies) the whole request
// within 10 s. The web application bounds its own request bodies
// (web.Options.BodyTimeout), progress-based for streaming uploads, which
// a whole-request timeout would cut short.
func (rt *Runtime) httpServer(h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(rt.Log.Handler(), slog.LevelWarn)}
	if _, site := h.(*web.Server); !site {
		srv.ReadTimeout = 10 * time.Second
	}
	return srv
}

// serveOps serves /healthz, /readyz and /metrics on GAS_METRICS_ADDR, apart
// from the public site, when one is configured (nil otherwise).
func (rt *Runtime) serveOps(ready func(ctx context.Context) error, failed chan<- error) (*http.Server, error) {
	if rt.Config.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", rt.Config.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for metrics: %w", rt.Config.MetricsAddr, err)
	}
	srv := rt.httpServer(rt.opsHandler(ready))
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	rt.Log.Info("metrics listening", "addr", ln.Addr().String())
	return srv, nil
}

// drain stops every worker's receives and waits until each is idle or the
// deadline passes.
func (rt *Runtime) drain(ws []Worker, deadline time.Time) {
	for _, w := range ws {
		if w.Queue != nil {
			w.Queue.Drain()
		}
	}
	if len(ws) == 0 {
		return
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for _, w := range ws {
		if w.Queue == nil {
			continue
		}
		select {
		case <-w.Queue.Drained():
		case <-timer.C:
			rt.Log.Warn("grace period over; releasing in-flight work", "worker", w.Name)
			return
		}
	}
	rt.Log.Info("in-flight work finished")
}

// opsHandler serves /healthz, /readyz and /metrics for worker roles.
func (rt *Runtime) opsHandler(ready func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", rt.Metrics.Handler())
	return mux
}
