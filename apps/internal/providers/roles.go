package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
)

// RoleSet is what every AWS role injector shares: the role's configuration
// split into what the adapters and services take, the AWS ports (job store
// observed for lost races, test hooks applied when configured), and the
// message topology. Injectors take a
// context.Context and a *role.Runtime.
var RoleSet = wire.NewSet(
	RoleAWSConfig,
	RoleSettings,
	RolePipelineConfig,
	SystemClock, // the system clock; nothing of the memory backend
	RandomIDs,
	RoleAWSClients,
	RoleJobStore,
	AWSUserStore,
	AWSObjectStore,
	AWSArchive,
	AWSMailer,
	AWSMessages,
)

// WebRoleSet serves the web application with presigned uploads straight
// to S3 and OIDC sign-in.
var WebRoleSet = wire.NewSet(RoleSet, JobsService, AccountsService, MemoryBilling, AWSTokenStore, RoleIdentity, WebRoleApp)

// AnnotatorRoleSet runs the annotator runner over the database loaded at start.
var AnnotatorRoleSet = wire.NewSet(RoleSet, RoleAnnotator, AnnotatorRoleApp)

// ArchiverRoleSet archives free users' results when their window ends.
var ArchiverRoleSet = wire.NewSet(RoleSet, ArchivalService, ArchiverRoleApp)

// ThawerRoleSet starts the restores of upgraded users' archives.
var ThawerRoleSet = wire.NewSet(RoleSet, ArchivalService, ThawerRoleApp)

// RestorerRoleSet finishes restores, on completion events and by polling.
var RestorerRoleSet = wire.NewSet(RoleSet, ArchivalService, RestorerRoleApp)

// NotifierRoleSet e-mails users and drains the dead-letter queues.
var NotifierRoleSet = wire.NewSet(RoleSet, Composer, NotifierRoleApp)

// RoleAWSConfig is the deployment's AWS configuration.
func RoleAWSConfig(rt *role.Runtime) awsconfig.Config { return rt.Config.AWS }

// RoleSettings are the services' settings from the role configuration.
func RoleSettings(rt *role.Runtime) Settings {
	return Settings{Policy: rt.Config.Policy, BaseURL: rt.Config.BaseURL, Logger: rt.Log}.withDefaults()
}

// RolePipelineConfig is the workers' configuration.
func RolePipelineConfig(rt *role.Runtime, s Settings) workers.Config {
	p := rt.Config.Pipeline
	return workers.Config{
		Policy: s.Policy, ResultPrefix: s.ResultPrefix, Visibility: p.Visibility, Wait: p.Wait,
		Heartbeat: p.Heartbeat, Concurrency: p.Concurrency, RetryDelay: p.RetryDelay,
		PollInterval: p.PollInterval, RedriveDelay: p.RedriveDelay, MaxRedrives: p.MaxRedrives,
		Logger: rt.Log,
	}
}

// RoleAWSClients builds the SDK clients like AWSClients, sending them
// through the awsfault.ExpeditedRefusal transport when the
// GAS_TEST_REFUSE_EXPEDITED hook is set (role.Config.Validate allows hooks
// only against a loopback test server).
func RoleAWSClients(ctx context.Context, rt *role.Runtime, c awsconfig.Config) (*awsconfig.Clients, func(), error) {
	var opts []awsconfig.Option
	if m := rt.Config.Hooks.RefuseExpedited; m != "" {
		rt.Log.Warn("test hook: Expedited retrievals refused", "match", m)
		opts = append(opts, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(awsfault.NewExpeditedRefusal(m, nil))))
	}
	return newAWSClients(ctx, c, opts...)
}

// RoleJobStore is the DynamoDB jobs table, with lost conditional writes
// counted and logged, and the job-store test hooks when configured.
func RoleJobStore(rt *role.Runtime, cl *awsconfig.Clients, c awsconfig.Config) (ports.JobStore, error) {
	s, err := AWSJobStore(cl, c)
	if err != nil {
		return nil, err
	}
	if h := rt.Config.Hooks; h.FailJobWrites != "" || h.JobWriteDelay > 0 {
		rt.Log.Warn("test hook: job-store faults", "fail_writes_of", h.FailJobWrites, "write_delay", h.JobWriteDelay.String())
	}
	return rt.ObserveJobs(role.WithJobHooks(s, rt.Config.Hooks)), nil
}

// RoleIdentity is OIDC sign-in (Globus Auth by default), discovered at
// start so a misconfigured issuer stops the role at once.
func RoleIdentity(ctx context.Context, rt *role.Runtime) (ports.IdentityProvider, error) {
	w := rt.Config.Web
	p, err := oidc.New(ctx, oidc.Config{Issuer: w.OIDCIssuer, ClientID: w.OIDCClientID, ClientSecret: w.OIDCClientSecret,
		RedirectURL: rt.Config.OIDCRedirect()})
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	return p, nil
}

// jobsReachable is a readiness check: the jobs table answers.
func jobsReachable(store ports.JobStore) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := store.Get(ctx, "readyz-probe")
		if err == nil || errors.Is(err, ports.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("jobs table: %w", err)
	}
}

// queuesReachable is a readiness check: each queue answers.
func queuesReachable(qs ...ports.Queue) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, q := range qs {
			if _, err := q.Stats(ctx); err != nil {
				return fmt.Errorf("queue: %w", err)
			}
		}
		return nil
	}
}

// WebRoleApp is the web application. Uploads go straight to S3 through a
// presigned POST (the jobs service re-checks the stored size); sign-in is
// OIDC; API tokens live in DynamoDB so every web server accepts them;
// billing takes no card yet (no payment adapter exists).
func WebRoleApp(rt *role.Runtime, js *jobs.Service, acc *accounts.Service, objects ports.ObjectStore, tokens ports.TokenStore,
	clock ports.Clock, idp ports.IdentityProvider, store ports.JobStore, m *Messaging, s Settings) (*role.App, error) {
	rt.Metrics.WatchQueue("annotate", m.Queues.Annotate)
	srv, err := web.New(web.Deps{
		Jobs: js, Accounts: acc, Objects: objects, Tokens: tokens, Clock: clock, Identity: idp,
		Metrics: rt.Metrics,
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(m.Queues.Annotate)),
	}, web.Options{
		SessionKey: rt.Config.Web.SessionKey, BaseURL: s.BaseURL, LocalBilling: true,
		Reference: rt.Config.Web.Reference, Logger: rt.Log,
	})
	if err != nil {
		return nil, err
	}
	return &role.App{Handler: srv}, nil
}

// RoleAnnotator loads the annotation database once (a local path or an
// s3://bucket/key object) with its known-variants source (GAS_KNOWN_VARIANTS,
// else the one the database recorded, when reachable; an s3:// source is
// downloaded once with its .tbi and removed at shutdown) and makes the
// engine every job of this process is annotated with, instrumented for
// /metrics. The rule is apps/internal/reference's, shared with `gas
// annotate --db` and `gas serve`.
func RoleAnnotator(ctx context.Context, rt *role.Runtime, cl *awsconfig.Clients) (results.Engine, func(), error) {
	ac := rt.Config.Annotator
	start := time.Now()
	l, err := reference.Open(ctx, reference.Config{DB: ac.Database, Known: ac.Known, Workers: ac.Workers,
		Remote: S3Remote(cl.S3), Logger: rt.Log})
	if err != nil {
		return nil, nil, err
	}
	if l.Known.Skipped != nil {
		rt.Log.Warn("annotating without known variants; set GAS_KNOWN_VARIANTS to a reachable source", "err", l.Known.Skipped.Error())
	}
	rt.Log.Info("annotation database loaded", "source", ac.Database, "reference", l.Engine.Reference(),
		"known_variants", l.Known.Source, "took", time.Since(start).Round(time.Millisecond).String())
	a := rt.Metrics.InstrumentAnnotator(l.Engine)
	if d := rt.Config.Hooks.AnnotateDelay; d > 0 {
		rt.Log.Warn("test hook: annotations held before they start", "delay", d.String())
		a = role.WithAnnotateDelay(a, d)
	}
	return a, l.Close, nil
}

// LoadAnnotationDB reads a gasdb database from a local path or an
// s3://bucket/key object (streamed, never written to local disk).
func LoadAnnotationDB(ctx context.Context, src string, client *s3.Client) (*model.Reference, error) {
	ref, _, err := reference.Read(ctx, src, S3Remote(client))
	return ref, err
}

// S3Remote reads s3://bucket/key sources for apps/internal/reference (nil
// without a client, so only local paths are accepted).
func S3Remote(client *s3.Client) reference.Remote {
	if client == nil {
		return nil
	}
	return s3Remote{client}
}

type s3Remote struct{ client *s3.Client }

// Open streams the object; a missing one wraps fs.ErrNotExist.
func (r s3Remote) Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	u, err := url.Parse(uri)
	key := strings.TrimPrefix(u.Path, "/")
	if err != nil || u.Scheme != "s3" || u.Host == "" || key == "" {
		return nil, fmt.Errorf("%q: want s3://bucket/key", uri)
	}
	out, err := r.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &u.Host, Key: &key})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("%s: %w", uri, fs.ErrNotExist)
		}
		return nil, err
	}
	return out.Body, nil
}

// AnnotatorRoleApp runs the annotator runner on the annotate queue, writing
// results with their variant index. On SIGTERM a job in progress finishes
// within the grace period or is released to another annotator.
func AnnotatorRoleApp(rt *role.Runtime, cfg workers.Config, m *Messaging, store ports.JobStore, users ports.UserStore,
	objects ports.ObjectStore, engine results.Engine, clock ports.Clock) (*role.App, error) {
	requests := role.NewDrainQueue(m.Queues.Annotate, cfg.Concurrency)
	ann, err := results.New(objects, engine, vartable.NewIndexer())
	if err != nil {
		return nil, err
	}
	r, err := workers.NewRunner(workers.RunnerPorts{
		Requests: requests, Archives: m.Queues.Archive, Results: m.Topics.JobResults, Jobs: store, Users: users,
		Objects: objects, Annotator: ann, Clock: clock,
	}, cfg)
	if err != nil {
		return nil, err
	}
	rt.Metrics.WatchQueue("annotate", m.Queues.Annotate)
	return &role.App{
		Workers: []role.Worker{{Name: "runner", Run: r.Run, Queue: requests}},
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(m.Queues.Annotate)),
	}, nil
}

// ArchiverRoleApp archives free users' results when their archive request
// is due.
func ArchiverRoleApp(rt *role.Runtime, cfg workers.Config, m *Messaging, svc *archival.Service, store ports.JobStore,
	clock ports.Clock) (*role.App, error) {
	q := role.NewDrainQueue(m.Queues.Archive, cfg.Concurrency)
	a, err := workers.NewArchiver(q, svc, clock, cfg)
	if err != nil {
		return nil, err
	}
	rt.Metrics.WatchQueue("archive", m.Queues.Archive)
	return &role.App{
		Workers: []role.Worker{{Name: "archiver", Run: a.Run, Queue: q}},
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(m.Queues.Archive)),
	}, nil
}

// ThawerRoleApp starts the restore of every archived job of an upgraded
// user (Expedited, Standard when Expedited has no capacity).
func ThawerRoleApp(rt *role.Runtime, cfg workers.Config, m *Messaging, svc *archival.Service, store ports.JobStore,
	clock ports.Clock) (*role.App, error) {
	q := role.NewDrainQueue(m.Queues.Thaw, cfg.Concurrency)
	t, err := workers.NewThawer(q, svc, clock, cfg)
	if err != nil {
		return nil, err
	}
	rt.Metrics.WatchQueue("thaw", m.Queues.Thaw)
	return &role.App{
		Workers: []role.Worker{{Name: "thawer", Run: t.Run, Queue: q}},
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(m.Queues.Thaw)),
	}, nil
}

// RestorerRoleApp finishes retrievals. Its queue carries both the
// cold-storage completion events (S3 ObjectRestore:Completed, Glacier job
// notifications — translated by the restore queue's adapter) and the
// polling fallback's scheduled checks, which it keeps re-scheduling until
// the retrieval is done.
func RestorerRoleApp(rt *role.Runtime, cfg workers.Config, m *Messaging, svc *archival.Service, store ports.JobStore,
	clock ports.Clock) (*role.App, error) {
	q := role.NewDrainQueue(m.Queues.Restore, cfg.Concurrency)
	r, err := workers.NewRestorer(q, svc, clock, cfg)
	if err != nil {
		return nil, err
	}
	rt.Metrics.WatchQueue("restore", m.Queues.Restore)
	return &role.App{
		Workers: []role.Worker{{Name: "restorer", Run: r.Run, Queue: q}},
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(m.Queues.Restore)),
	}, nil
}

// NotifierRoleApp e-mails users about finished and failed jobs, and (with
// GAS_DEAD_LETTERS, the default) drains every dead-letter queue: a dead job
// request marks its job FAILED with the reason and tells the user; other
// dead messages are redriven. Dead letters are handled here, apart from
// the workers whose failures feed them, so a broken worker fleet cannot
// also block the verdict on its own failures.
func NotifierRoleApp(rt *role.Runtime, cfg workers.Config, m *Messaging, store ports.JobStore, users ports.UserStore,
	composer ports.Composer, mailer ports.Mailer, clock ports.Clock) (*role.App, error) {
	notify := role.NewDrainQueue(m.Queues.Notify, cfg.Concurrency)
	n, err := workers.NewNotifier(workers.NotifierPorts{Queue: notify, Jobs: store, Users: users,
		Composer: composer, Mailer: mailer, Clock: clock}, cfg)
	if err != nil {
		return nil, err
	}
	rt.Metrics.WatchQueue("notify", m.Queues.Notify)
	app := &role.App{Workers: []role.Worker{{Name: "notifier", Run: n.Run, Queue: notify}}}
	checked := []ports.Queue{m.Queues.Notify}
	if rt.Config.DeadLetters {
		for _, o := range []struct {
			name   string
			origin ports.Queue
		}{{"annotate", m.Queues.Annotate}, {"notify", m.Queues.Notify}, {"thaw", m.Queues.Thaw},
			{"restore", m.Queues.Restore}, {"archive", m.Queues.Archive}} {
			dead, ok := m.Queues.DeadLetters[o.origin]
			if !ok {
				return nil, fmt.Errorf("notifier: no dead-letter queue for %s", o.name)
			}
			dq := role.NewDrainQueue(dead, cfg.Concurrency)
			d, err := workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: dq, Origin: o.origin, Results: m.Topics.JobResults,
				Jobs: store, Clock: clock}, cfg)
			if err != nil {
				return nil, err
			}
			rt.Metrics.WatchQueue(o.name+"-dlq", dead)
			app.Workers = append(app.Workers, role.Worker{Name: "dead-letters:" + o.name, Run: d.Run, Queue: dq})
			checked = append(checked, dead)
		}
	}
	app.Ready = rt.Ready(jobsReachable(store), queuesReachable(checked...))
	return app, nil
}
