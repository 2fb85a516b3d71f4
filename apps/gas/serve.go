package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

func init() {
	commands["serve"] = command{summary: "run the whole service locally: web app, annotators, archiver, restorer, notifier",
		usage: "serve [flags]", about: "Open the printed URL and use the development sign-in. See docs/web.md.", run: runServe}
}

// serveConfig is `gas serve`'s command line.
type serveConfig struct {
	Addr             string
	MetricsAddr      string
	BaseURL          string
	Window           time.Duration
	Lease            time.Duration
	MaxAttempts      int
	Data             string
	Ephemeral        bool
	Cache            string
	DBs              []string
	Known            string
	Workers          int
	MaxAlts          int
	ExpeditedRestore time.Duration
	StandardRestore  time.Duration
	OIDC             oidc.Config
	Quiet            bool
	Upgrades         string
	Admins           string
	Pool             poolFlags
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
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /healthz, /readyz and /metrics at `ADDR`, apart from the site (which serves no /metrics)")
	fs.StringVar(&c.BaseURL, "base-url", "", "external `URL` of the site for links and redirects (default http://ADDR)")
	fs.DurationVar(&c.Window, "window", def.FreeWindow, "free download window before results are archived")
	fs.DurationVar(&c.Lease, "lease", def.Lease, "an annotator's claim on a job: after a crash, jobs that were running start again once it lapses")
	fs.IntVar(&c.MaxAttempts, "max-attempts", def.MaxAttempts, "runs of a job (interrupted or failing) before it is FAILED")
	fs.StringVar(&c.Data, "data", defaultDataDir(), "data `DIR`: users, jobs, results, archives, e-mails (see gas backup)")
	fs.BoolVar(&c.Ephemeral, "ephemeral", false, "keep everything in memory and lose it on exit (tests, demos)")
	fs.StringVar(&c.Cache, "cache", filepath.Join(cache, "gas"), "`DIR` holding the default synthetic annotation database and its known-variants VCF")
	fs.Func("db", "annotation database `FILE` to use instead of the default synthetic one (built by gas db build); repeat it to offer several, the first the default", func(v string) error {
		c.DBs = append(c.DBs, v)
		return nil
	})
	fs.StringVar(&c.Known, "known", "", "known-variants VCF `FILE` (bgzip+tabix) for rsIDs and allele frequencies (default: the one the database recorded; none turns it off); with several --db, each uses its recorded one")
	fs.IntVar(&c.Workers, "workers", 2*runtime.NumCPU(), "most jobs annotated at once (the pool's maximum, shared out among users: see Fair share in docs/web.md)")
	fs.IntVar(&c.MaxAlts, "max-alt-alleles", engine.DefaultMaxAlts, "most ALT alleles one VCF record may list")
	c.Pool.register(fs)
	fs.DurationVar(&c.ExpeditedRestore, "expedited-restore", 20*time.Second, "how long an Expedited retrieval from the local archive takes")
	fs.DurationVar(&c.StandardRestore, "standard-restore", 2*time.Minute, "how long a Standard retrieval from the local archive takes")
	fs.StringVar(&c.OIDC.Issuer, "oidc-issuer", oidc.GlobusIssuer, "OpenID Connect issuer `URL` for sign-in")
	fs.StringVar(&c.OIDC.ClientID, "oidc-client-id", os.Getenv("GAS_OIDC_CLIENT_ID"), "OIDC client `ID` (enables Globus sign-in)")
	fs.StringVar(&c.OIDC.RedirectURL, "oidc-redirect", "", "OIDC redirect `URL` (default BASE-URL/auth/callback)")
	fs.BoolVar(&c.Quiet, "quiet", false, "log warnings and errors only")
	fs.StringVar(&c.Upgrades, "upgrade-policy", string(domain.UpgradeOpen), "who changes plans (`POLICY`): open (users themselves, no payment: local mode and demos) or admin (the operators in --admins, on the admin page)")
	fs.StringVar(&c.Admins, "admins", "", "comma-separated user `IDS` of the operators who may use the admin page (a dev sign-in's id is on its profile's API)")
	showDefault(fs, "data", "$XDG_DATA_HOME/gas (~/.local/share/gas)")
	showDefault(fs, "cache", "the user cache directory's gas (~/.cache/gas)")
	showDefault(fs, "workers", "2 × CPUs")
	showDefault(fs, "oidc-client-id", "$GAS_OIDC_CLIENT_ID")
	c.OIDC.ClientSecret = os.Getenv("GAS_OIDC_CLIENT_SECRET")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if u := domain.UpgradePolicy(c.Upgrades); u != domain.UpgradeOpen && u != domain.UpgradeAdmin {
		return c, fmt.Errorf("%w: --upgrade-policy must be open or admin", errUsage)
	}
	if c.Window < 0 || c.Workers < 1 || c.ExpeditedRestore < 0 || c.StandardRestore < 0 || c.Lease < time.Second || c.MaxAttempts < 1 {
		return c, fmt.Errorf("%w: --window and restore times must not be negative, --lease at least 1s, --workers and --max-attempts at least 1", errUsage)
	}
	if !c.Ephemeral && c.Data == "" {
		return c, fmt.Errorf("%w: no data directory (set --data, XDG_DATA_HOME or HOME, or use --ephemeral)", errUsage)
	}
	if len(c.DBs) > 1 && c.Known != "" && c.Known != reference.NoKnown {
		return c, fmt.Errorf("%w: --known names one source; with several --db each uses the one it recorded (or --known none)", errUsage)
	}
	return c, c.Pool.validate(c.Workers)
}

func runServe(ctx context.Context, args []string) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	if cfg.Quiet {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	init := initLocal
	if cfg.Ephemeral {
		init = initEphemeral
	} else {
		spareProc()
	}
	app, cleanup, err := init(ctx, cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	return app.run(ctx)
}

// spareProc gives the Go scheduler one processor (P) more than it has
// CPUs, unless GOMAXPROCS is set. The disk store makes results durable
// while they stream (adapters/disk: an fdatasync every few megabytes, on
// its own goroutine), and a thread blocked in a system call keeps its P
// until the runtime's monitor hands it on, which on a busy process wakes
// only every few milliseconds; with one P per CPU, a CPU then idles
// through much of each sync while the engine has work queued. With the
// spare P a job's results step on 1M variants (adapters/results
// BenchmarkJobResults, results-disk-procs=N, 2 CPUs) took 0.32–0.41 s
// instead of 0.42–0.47 s in five runs of ten jobs.
func spareProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}

// localDataDir is --data, made absolute and created (owner only).
func localDataDir(cfg serveConfig) (providers.DataDir, error) {
	dir, err := filepath.Abs(cfg.Data)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	fmt.Fprintf(os.Stderr, "gas serve: data in %s (back it up with gas backup --data %s OUT)\n", dir, dir)
	return providers.DataDir(dir), nil
}

// localSet is what local mode adds to its ports (SQLiteSet, or MemorySet
// with --ephemeral) and the provider sets every process shares: its
// listener, runtime and reference, the web options of a single-machine
// site, and all the workers.
var localSet = wire.NewSet(
	localListener,
	localRuntime,
	localOptions,
	localReference,
	localAnnotator,
	localIdentity,
	localWebOptions,
	providers.RuntimeSet,
	providers.WebSet,
	providers.AllWorkersSet,
	localRoleApp,
	wire.Struct(new(localApp), "*"),
)

// localApp is the running local service.
type localApp struct {
	Runtime  *role.Runtime
	Listener net.Listener
	App      *role.App
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

// localRuntime is the runtime of a process playing every role: the tier
// policy from the flags, a short long-poll so SIGTERM drains idle workers
// at once, and an annotator pool of --workers-min to --workers loops. Jobs
// are counted by status for /metrics.
func localRuntime(cfg serveConfig, l net.Listener, store providers.JobCounter, ref *localRef) *role.Runtime {
	p := domain.DefaultPolicy()
	p.FreeWindow, p.Lease, p.MaxAttempts = cfg.Window, cfg.Lease, cfg.MaxAttempts
	p.Upgrades = domain.UpgradePolicy(cfg.Upgrades)
	p.ExpeditedRestore, p.StandardRestore = cfg.ExpeditedRestore, cfg.StandardRestore
	base := cfg.BaseURL
	if base == "" {
		base = "http://" + l.Addr().String()
	}
	rt := &role.Runtime{Log: slog.Default(), Metrics: web.NewMetrics(), Config: role.Config{
		Role: role.Local, Addr: l.Addr().String(), MetricsAddr: cfg.MetricsAddr, ShutdownGrace: 10 * time.Second, BaseURL: base, Policy: p,
		Pipeline:    role.Pipeline{RunnerConcurrency: cfg.Workers, RunnerPool: localPool(cfg), Wait: 2 * time.Second},
		DeadLetters: true, Web: role.WebSettings{References: ref.Names(), Admins: role.SplitIDs(cfg.Admins)},
	}}
	rt.Metrics.CountJobs(store.Counts)
	return rt
}

func localOptions(cfg serveConfig) providers.LocalOptions {
	return providers.LocalOptions{ExpeditedRestore: cfg.ExpeditedRestore, StandardRestore: cfg.StandardRestore}
}

// localRef is the loaded annotation engines (the default first) and the
// sample VCFs that match the synthetic reference.
type localRef struct {
	Engines    []*engine.Engine
	Known      []string            // known-variants source of each ("" none)
	Provenance []domain.Provenance // what the logs say of each
	Samples    []web.Sample
}

// Names are the references' names, the default first.
func (r *localRef) Names() []string {
	out := make([]string, len(r.Engines))
	for i, e := range r.Engines {
		out[i] = e.Reference()
	}
	return out
}

// localReference opens each --db, or the default synthetic database that
// it builds into --cache on first start (deterministic, so every machine
// gets the same one, with a known-variants VCF and samples that share part
// of it), through apps/internal/reference: --known wins, else the
// database's recorded known-variants source when it is there. A job's
// annotation uses every core, as gas annotate does: with several jobs at
// once the scheduler shares the cores between them, and a lone job is not
// held to half the machine.
func localReference(ctx context.Context, cfg serveConfig) (*localRef, func(), error) {
	dbs := cfg.DBs
	var samples []syntheticSample
	if len(dbs) == 0 {
		start := time.Now()
		var built bool
		var err error
		if samples, built, err = ensureSynthetic(cfg.Cache); err != nil {
			return nil, nil, fmt.Errorf("default synthetic reference in %s: %w", cfg.Cache, err)
		}
		dbs = []string{filepath.Join(cfg.Cache, syntheticDB)}
		if built {
			slog.Info("built the default synthetic annotation database", "path", dbs[0],
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
	r := &localRef{}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, db := range dbs {
		l, err := reference.Open(ctx, reference.Config{DB: db, Known: cfg.Known, MaxAlts: cfg.MaxAlts, Logger: slog.Default()})
		if err != nil {
			closeAll()
			if len(cfg.DBs) == 0 {
				err = fmt.Errorf("%w (delete %s to rebuild it)", err, db)
			}
			return nil, nil, err
		}
		closers = append(closers, l.Close)
		if l.Known.Skipped != nil {
			slog.Warn("annotating without known variants", "reference", l.Engine.Reference(), "err", l.Known.Skipped)
		}
		r.Engines, r.Known = append(r.Engines, l.Engine), append(r.Known, l.Known.Source)
		r.Provenance = append(r.Provenance, l.Provenance())
	}
	for _, s := range samples {
		r.Samples = append(r.Samples, s.Sample)
	}
	return r, closeAll, nil
}

// localAnnotator is the loaded engines, instrumented for /metrics.
func localAnnotator(rt *role.Runtime, ref *localRef) results.Engines {
	out := make(results.Engines, len(ref.Engines))
	for i, e := range ref.Engines {
		out[i] = results.About(rt.Metrics.InstrumentAnnotator(e), ref.Provenance[i])
	}
	return out
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

// localWebOptions make a single-machine site: the session key of the data
// directory (or of the process, with --ephemeral), the dev sign-in,
// uploads streamed through the app, the outbox page, the pool's scaling
// page, the reference's samples, the object store's presigned handler,
// and waits that wake as the job store changes.
func localWebOptions(objects providers.LocalObjects, outbox providers.OutboxReader, sec providers.Secrets, ref *localRef,
	jobs *providers.WatchedJobStore, rt *role.Runtime, s providers.Settings) web.Options {
	return web.Options{
		SessionKey: sec.Session, BaseURL: s.BaseURL, DevSignIn: true, StreamUploads: true, LocalBilling: true,
		InputPrefix: s.InputPrefix, Outbox: outbox, Scaling: scalingStatus(rt), JobChanged: jobs.Watch,
		Samples: ref.Samples, Reference: ref.Names()[0], Logger: s.Logger, Admins: rt.Config.Web.Admins,
		Mounts: map[string]http.Handler{presign.DefaultURLPrefix: objects.Handler()},
	}
}

// localRoleApp is the web application and every role's workers in one
// process.
func localRoleApp(rt *role.Runtime, srv *web.Server, ws providers.WorkerSet, bus *message.Bus) (*role.App, error) {
	all, err := ws.Workers(rt, bus)
	if err != nil {
		return nil, err
	}
	return &role.App{Handler: srv, Workers: all}, nil
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down as
// the AWS roles do (role.Runtime.Serve): stop taking work, let in-flight
// work finish for a grace period, release what is left to PENDING.
func (a *localApp) run(ctx context.Context) error {
	slog.Info("GAS local mode ready", "url", a.Settings.BaseURL, "references", a.Ref.Names(), "known_variants", a.Ref.Known,
		"free_window", a.Settings.Policy.FreeWindow, "workers", len(a.App.Workers))
	fmt.Fprintf(os.Stderr, "gas serve: listening on %s\n", a.Settings.BaseURL)
	err := a.Runtime.ServeOn(ctx, a.Listener, a.App)
	slog.Info("stopped")
	return err
}
