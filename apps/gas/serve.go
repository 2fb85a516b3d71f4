package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
)

func init() {
	commands["serve"] = command{"run the whole service locally: web app, annotators, archiver, restorer, notifier", runServe}
}

// serveConfig is `gas serve`'s command line.
type serveConfig struct {
	Addr             string
	BaseURL          string
	Window           time.Duration
	Data             string
	DB               string
	Known            string
	Workers          int
	ExpeditedRestore time.Duration
	StandardRestore  time.Duration
	OIDC             oidc.Config
	Quiet            bool
}

func parseServe(args []string) (serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := domain.DefaultPolicy()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	var c serveConfig
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	fs.StringVar(&c.BaseURL, "base-url", "", "external URL of the site for links and redirects (default http://ADDR)")
	fs.DurationVar(&c.Window, "window", def.FreeWindow, "free download window before results are archived")
	fs.StringVar(&c.Data, "data", filepath.Join(cache, "gas"), "directory holding the default synthetic annotation database and its known-variants VCF")
	fs.StringVar(&c.DB, "db", "", "annotation database to use instead of the default synthetic one (see `gas db build`)")
	fs.StringVar(&c.Known, "known", "", "known-variants VCF (bgzip+tabix) for rsIDs and allele frequencies (default: the one the database recorded; none turns it off)")
	fs.IntVar(&c.Workers, "workers", 2*runtime.NumCPU(), "jobs annotated at once")
	fs.DurationVar(&c.ExpeditedRestore, "expedited-restore", 20*time.Second, "how long an Expedited retrieval from the local archive takes")
	fs.DurationVar(&c.StandardRestore, "standard-restore", 2*time.Minute, "how long a Standard retrieval from the local archive takes")
	fs.StringVar(&c.OIDC.Issuer, "oidc-issuer", oidc.GlobusIssuer, "OpenID Connect issuer for sign-in")
	fs.StringVar(&c.OIDC.ClientID, "oidc-client-id", os.Getenv("GAS_OIDC_CLIENT_ID"), "OIDC client id (enables Globus sign-in; env GAS_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDC.RedirectURL, "oidc-redirect", "", "OIDC redirect URL (default BASE-URL/auth/callback)")
	fs.BoolVar(&c.Quiet, "quiet", false, "log warnings and errors only")
	c.OIDC.ClientSecret = os.Getenv("GAS_OIDC_CLIENT_SECRET")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return c, fmt.Errorf("%w\nusage: gas serve [--addr 127.0.0.1:8080] [--window 5m] [--data DIR] [--db REF.gasdb] [--known KNOWN.vcf.gz]", err)
	}
	if len(pos) > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if c.Window < 0 || c.Workers < 1 || c.ExpeditedRestore < 0 || c.StandardRestore < 0 {
		return c, fmt.Errorf("%w: --window and restore times must not be negative, --workers at least 1", errUsage)
	}
	return c, nil
}

func runServe(ctx context.Context, args []string) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	if cfg.Quiet {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	app, cleanup, err := initLocal(ctx, cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	return app.run(ctx)
}

// localSet is everything local mode adds to the memory and services sets.
var localSet = wire.NewSet(
	localListener,
	localSettings,
	localMemoryOptions,
	localReference,
	localMetrics,
	localIdentity,
	localWeb,
	localWorkers,
	wire.Struct(new(localApp), "*"),
)

// localApp is the running local service.
type localApp struct {
	Listener net.Listener
	Server   *web.Server
	Workers  *workerSet
	Ref      *localRef
	Settings providers.Settings
}

// localListener listens before anything else starts, so the base URL is
// known even for --addr 127.0.0.1:0.
func localListener(cfg serveConfig) (net.Listener, func(), error) {
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return l, func() { _ = l.Close() }, nil
}

func localSettings(cfg serveConfig, l net.Listener) providers.Settings {
	p := domain.DefaultPolicy()
	p.FreeWindow = cfg.Window
	p.ExpeditedRestore, p.StandardRestore = cfg.ExpeditedRestore, cfg.StandardRestore
	base := cfg.BaseURL
	if base == "" {
		base = "http://" + l.Addr().String()
	}
	return providers.Settings{Policy: p, BaseURL: base, Logger: slog.Default()}
}

func localMemoryOptions(cfg serveConfig) providers.MemoryOptions {
	return providers.MemoryOptions{ExpeditedRestore: cfg.ExpeditedRestore, StandardRestore: cfg.StandardRestore}
}

// localRef is the loaded annotation engine and the sample VCFs that match
// its reference.
type localRef struct {
	Engine  *engine.Engine
	Known   string // known-variants source in use ("" none)
	Samples []web.Sample
}

// localReference opens --db, or the default synthetic database that it
// builds into --data on first start (deterministic, so every machine gets
// the same one, with a known-variants VCF and samples that share part of
// it), through apps/internal/reference: --known wins, else the database's
// recorded known-variants source when it is there.
func localReference(ctx context.Context, cfg serveConfig) (*localRef, func(), error) {
	rc := reference.Config{DB: cfg.DB, Known: cfg.Known, Workers: max(1, runtime.NumCPU()/2), Logger: slog.Default()}
	var samples []syntheticSample
	if cfg.DB == "" {
		start := time.Now()
		var built bool
		var err error
		if samples, built, err = ensureSynthetic(cfg.Data); err != nil {
			return nil, nil, fmt.Errorf("default synthetic reference in %s: %w", cfg.Data, err)
		}
		rc.DB = filepath.Join(cfg.Data, syntheticDB)
		if built {
			slog.Info("built the default synthetic annotation database", "path", rc.DB,
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
	l, err := reference.Open(ctx, rc)
	if err != nil {
		if cfg.DB == "" {
			err = fmt.Errorf("%w (delete %s to rebuild it)", err, rc.DB)
		}
		return nil, nil, err
	}
	if l.Known.Skipped != nil {
		slog.Warn("annotating without known variants", "err", l.Known.Skipped)
	}
	r := &localRef{Engine: l.Engine, Known: l.Known.Source}
	for _, s := range samples {
		r.Samples = append(r.Samples, s.Sample)
	}
	return r, l.Close, nil
}

func localMetrics(store *providers.CountedJobStore, m *providers.Messaging) *web.Metrics {
	met := web.NewMetrics()
	met.CountJobs(store.Counts)
	for name, q := range map[string]ports.Queue{"annotate": m.Queues.Annotate, "notify": m.Queues.Notify,
		"archive": m.Queues.Archive, "thaw": m.Queues.Thaw, "restore": m.Queues.Restore} {
		met.WatchQueue(name, q)
		met.WatchQueue(name+"-dlq", m.Queues.DeadLetters[q])
	}
	return met
}

// localIdentity is Globus (or another OIDC issuer) sign-in when a client id
// is configured; otherwise local mode has only the dev sign-in.
func localIdentity(ctx context.Context, cfg serveConfig, s providers.Settings) (ports.IdentityProvider, error) {
	if cfg.OIDC.ClientID == "" {
		return nil, nil
	}
	oc := cfg.OIDC
	if oc.RedirectURL == "" {
		oc.RedirectURL = s.BaseURL + "/auth/callback"
	}
	p, err := oidc.New(ctx, oc)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func localWeb(js *jobs.Service, acc *accounts.Service, objects *memory.ObjectStore, tokens web.TokenStore,
	clock ports.Clock, idp ports.IdentityProvider, met *web.Metrics, outbox *memory.Outbox, m *providers.Messaging,
	ref *localRef, s providers.Settings) (*web.Server, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	queues := []ports.Queue{m.Queues.Annotate, m.Queues.Notify, m.Queues.Archive, m.Queues.Thaw, m.Queues.Restore}
	return web.New(web.Deps{
		Jobs: js, Accounts: acc, Objects: objects, Tokens: tokens, Clock: clock, Identity: idp,
		Metrics: met,
		Ready: func(ctx context.Context) error {
			for _, q := range queues {
				if _, err := q.Stats(ctx); err != nil {
					return err
				}
			}
			return nil
		},
	}, web.Options{
		SessionKey: key, BaseURL: s.BaseURL, DevSignIn: true, StreamUploads: true, LocalBilling: true,
		Outbox: func() []web.OutboxEmail {
			sent := outbox.Sent()
			out := make([]web.OutboxEmail, len(sent))
			for i, e := range sent {
				out[i] = web.OutboxEmail{To: e.To, Subject: e.Subject, Text: e.Text, SentAt: e.SentAt}
			}
			return out
		},
		Samples: ref.Samples, Reference: ref.Engine.Reference(), Logger: s.Logger,
		Mounts: map[string]http.Handler{presign.DefaultURLPrefix: objects.Handler()},
	})
}

// worker is one background loop.
type worker struct {
	name string
	run  func(ctx context.Context) error
}

// workerSet is local mode's pipeline: annotator pool, archiver, thawer,
// restorer, notifier and a dead-letter handler per queue.
type workerSet struct{ list []worker }

func localWorkers(store ports.JobStore, users ports.UserStore, objects ports.ObjectStore, composer ports.Composer, mailer ports.Mailer,
	m *providers.Messaging, arch *archival.Service, clock ports.Clock, ref *localRef, met *web.Metrics,
	cfg serveConfig, s providers.Settings) (*workerSet, error) {
	pc := workers.Config{Policy: s.Policy, ResultPrefix: "results/", Logger: s.Logger}
	ws := &workerSet{}
	add := func(name string, run func(context.Context) error, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ws.list = append(ws.list, worker{name, run})
		return nil
	}
	rc := pc
	rc.Concurrency = cfg.Workers
	ann, err := results.New(objects, met.InstrumentAnnotator(ref.Engine), vartable.NewIndexer())
	if err != nil {
		return nil, err
	}
	runner, err := workers.NewRunner(workers.RunnerPorts{
		Requests: m.Queues.Annotate, Archives: m.Queues.Archive, Results: m.Topics.JobResults,
		Jobs: store, Users: users, Objects: objects, Annotator: ann, Clock: clock,
	}, rc)
	if err := add("annotator", runnerRun(runner), err); err != nil {
		return nil, err
	}
	archiver, err := workers.NewArchiver(m.Queues.Archive, arch, clock, pc)
	if err := add("archiver", runOf(archiver), err); err != nil {
		return nil, err
	}
	thawer, err := workers.NewThawer(m.Queues.Thaw, arch, clock, pc)
	if err := add("thawer", runOf(thawer), err); err != nil {
		return nil, err
	}
	restorer, err := workers.NewRestorer(m.Queues.Restore, arch, clock, pc)
	if err := add("restorer", runOf(restorer), err); err != nil {
		return nil, err
	}
	notif, err := workers.NewNotifier(workers.NotifierPorts{Queue: m.Queues.Notify, Jobs: store, Users: users,
		Composer: composer, Mailer: mailer, Clock: clock}, pc)
	if err := add("notifier", runOf(notif), err); err != nil {
		return nil, err
	}
	for name, q := range map[string]ports.Queue{"annotate": m.Queues.Annotate, "notify": m.Queues.Notify,
		"archive": m.Queues.Archive, "thaw": m.Queues.Thaw, "restore": m.Queues.Restore} {
		dl, err := workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: m.Queues.DeadLetters[q], Origin: q,
			Results: m.Topics.JobResults, Jobs: store, Clock: clock}, pc)
		if err := add("dead-letters-"+name, runOf(dl), err); err != nil {
			return nil, err
		}
	}
	return ws, nil
}

type runner interface {
	Run(ctx context.Context) error
}

func runOf(r runner) func(context.Context) error {
	if r == nil {
		return nil
	}
	return r.Run
}

func runnerRun(r *workers.Runner) func(context.Context) error {
	if r == nil {
		return nil
	}
	return r.Run
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down in
// order: stop taking requests and let in-flight ones finish, then stop the
// workers, which release jobs they were annotating back to PENDING.
func (a *localApp) run(ctx context.Context) error {
	srv := &http.Server{Handler: a.Server, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	var wg sync.WaitGroup
	for _, w := range a.Workers.list {
		wg.Go(func() {
			if err := w.run(wctx); err != nil && wctx.Err() == nil {
				slog.Error("worker stopped", "worker", w.name, "err", err)
			}
		})
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(a.Listener) }()
	slog.Info("GAS local mode ready", "url", a.Settings.BaseURL, "reference", a.Ref.Engine.Reference(), "known_variants", a.Ref.Known,
		"free_window", a.Settings.Policy.FreeWindow, "workers", len(a.Workers.list))
	fmt.Fprintf(os.Stderr, "gas serve: listening on %s\n", a.Settings.BaseURL)
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("web server: %w", err)
	}
	slog.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("web shutdown: %w", serr)
	}
	stopWorkers()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		slog.Warn("workers did not stop in time")
	}
	slog.Info("stopped")
	return err
}
