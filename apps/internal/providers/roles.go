package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// RuntimeSet is what every process derives from its *role.Runtime: the
// services' settings and the workers' configuration (AWS roles and local
// mode alike).
var RuntimeSet = wire.NewSet(RoleSettings, RolePipelineConfig)

// RoleSet is what every AWS role injector shares: the role's configuration
// split into what the adapters and services take, the AWS ports (job store
// observed for lost races, test hooks applied when configured), and the
// message topology. Injectors take a context.Context and a *role.Runtime.
var RoleSet = wire.NewSet(
	RuntimeSet,
	RoleAWSConfig,
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

// OperatorSet is what an operator's command (`gas users`) needs of the
// deployment: its profiles and the accounts service that grants and
// revokes premium (a grant asks the thawer, over the thaw topic, to bring
// the user's archived results back).
var OperatorSet = wire.NewSet(RoleSettings, RoleAWSConfig, SystemClock, RoleAWSClients, AWSUserStore, AWSMessages,
	MemoryBilling, AccountsService)

// WebRoleSet serves the web application with presigned uploads straight
// to S3 and OIDC sign-in.
var WebRoleSet = wire.NewSet(RoleSet, WebSet, MemoryBilling, AWSTokenStore, AWSSessionStore, RoleIdentity, RoleWebOptions, WebRoleApp)

// AnnotatorRoleSet runs the annotator runner over the database loaded at
// start, protecting its instance from scale-in while it works.
var AnnotatorRoleSet = wire.NewSet(RoleSet, RoleAnnotator, RoleScaleIn, RoleResultsAnnotator, RunnerWorkers,
	wire.Struct(new(WorkerSet), "Runner"), AnnotatorApp)

// ArchivalRoleSet is the archiver, thawer and restorer roles: each runs the
// worker of the queue the topology says its role consumes.
var ArchivalRoleSet = wire.NewSet(RoleSet, ArchivalService, ArchivalWorkers, wire.Struct(new(WorkerSet), "Archival"), WorkerApp)

// NotifierRoleSet e-mails users and drains the dead-letter queues.
var NotifierRoleSet = wire.NewSet(RoleSet, NotifierSet, wire.Struct(new(WorkerSet), "Notifier"), WorkerApp)

// ReconcilerRoleSet scans the stores and re-issues lost messages.
var ReconcilerRoleSet = wire.NewSet(RoleSet, ReconcilerWorkers, wire.Struct(new(WorkerSet), "Reconciler"), WorkerApp)

// ReconcileCommandSet is `gas reconcile`: one reconciler over the
// deployment the environment names, for a single pass.
var ReconcileCommandSet = wire.NewSet(RoleSet, Reconciler)

// RoleAWSConfig is the deployment's AWS configuration.
func RoleAWSConfig(rt *role.Runtime) awsconfig.Config { return rt.Config.AWS }

// RoleSettings are the services' settings from the role configuration.
func RoleSettings(rt *role.Runtime) Settings {
	return Settings{Policy: rt.Config.Policy, BaseURL: rt.Config.BaseURL, References: rt.Config.Web.References, Logger: rt.Log}.withDefaults()
}

// RolePipelineConfig is the workers' configuration.
func RolePipelineConfig(rt *role.Runtime, s Settings) workers.Config {
	p := rt.Config.Pipeline
	return workers.Config{
		Policy: s.Policy, ResultPrefix: s.ResultPrefix, Visibility: p.Visibility, Wait: p.Wait,
		Heartbeat: p.Heartbeat, Concurrency: p.Concurrency, RetryDelay: p.RetryDelay,
		PollInterval: p.PollInterval, RedriveDelay: p.RedriveDelay, MaxRedrives: p.MaxRedrives,
		ReconcileInterval: p.ReconcileInterval, ReconcileGrace: p.ReconcileGrace, Logger: rt.Log,
	}
}

// RoleAWSClients builds the SDK clients (the cleanup closes their idle
// connections), sending them through the awsfault.ExpeditedRefusal
// transport when the GAS_TEST_REFUSE_EXPEDITED hook is set and recording
// every call with GAS_TEST_RECORD_CALLS (role.Config.Validate allows hooks
// only against a loopback test server).
func RoleAWSClients(ctx context.Context, rt *role.Runtime, c awsconfig.Config) (*awsconfig.Clients, func(), error) {
	var opts []awsconfig.Option
	if m := rt.Config.Hooks.RefuseExpedited; m != "" {
		rt.Log.Warn("test hook: Expedited retrievals refused", "match", m)
		opts = append(opts, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(awsfault.NewExpeditedRefusal(m, nil))))
	}
	closeRecord := func() {}
	if path := rt.Config.Hooks.RecordCalls; path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("GAS_TEST_RECORD_CALLS: %w", err)
		}
		rt.Log.Warn("test hook: AWS calls recorded", "file", path)
		opts = append(opts, awsconfig.WithAPIOptions(awsfault.NewRecorder(f).APIOption))
		closeRecord = func() { f.Close() }
	}
	cl, cleanup, err := newAWSClients(ctx, c, opts...)
	if err != nil {
		closeRecord()
		return nil, nil, err
	}
	return cl, func() { cleanup(); closeRecord() }, nil
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

// RoleAnnotator loads the annotation databases once (GAS_ANNOTATION_DB:
// local paths or s3://bucket/key objects, the default first), each with
// its known-variants source (GAS_KNOWN_VARIANTS, one per database, else
// the one the database recorded, when reachable; an s3:// source is
// downloaded once with its .tbi and removed at shutdown), and makes the
// engines jobs are annotated with, instrumented for /metrics. The rule is
// apps/internal/reference's, shared with `gas annotate --db` and `gas serve`.
func RoleAnnotator(ctx context.Context, rt *role.Runtime, cl *awsconfig.Clients) (results.Engines, func(), error) {
	ac := rt.Config.Annotator
	dbs, knowns := strings.Split(ac.Database, ","), strings.Split(ac.Known, ",")
	if ac.Known == "" || (len(knowns) == 1 && knowns[0] == reference.NoKnown) {
		knowns = slices.Repeat(knowns[:1], len(dbs))
	}
	if len(knowns) != len(dbs) {
		return nil, nil, fmt.Errorf("GAS_KNOWN_VARIANTS names %d sources for %d databases: give one per database (or none)", len(knowns), len(dbs))
	}
	var engines results.Engines
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for i, db := range dbs {
		start := time.Now()
		l, err := reference.Open(ctx, reference.Config{DB: strings.TrimSpace(db), Known: strings.TrimSpace(knowns[i]), Workers: ac.Workers,
			MaxAlts: ac.MaxAlts, Remote: S3Remote(cl.S3), Logger: rt.Log})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, l.Close)
		if l.Known.Skipped != nil {
			rt.Log.Warn("annotating without known variants; set GAS_KNOWN_VARIANTS to a reachable source", "err", l.Known.Skipped.Error())
		}
		rt.Log.Info("annotation database loaded", "source", db, "reference", l.Engine.Reference(),
			"known_variants", l.Known.Source, "took", time.Since(start).Round(time.Millisecond).String())
		a := rt.Metrics.InstrumentAnnotator(l.Engine)
		if d := rt.Config.Hooks.AnnotateDelay; d > 0 {
			rt.Log.Warn("test hook: annotations held before they start", "delay", d.String())
			a = role.WithAnnotateDelay(a, d)
		}
		engines = append(engines, results.About(a, l.Provenance()))
	}
	return engines, closeAll, nil
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

// RoleScaleIn is the autoscaling group the annotator's instance runs in
// (GAS_AUTOSCALING_GROUP, GAS_INSTANCE_ID), or nil outside one: Auto
// Scaling through the role's SDK configuration, the lifecycle state
// through the instance metadata service.
func RoleScaleIn(rt *role.Runtime, cl *awsconfig.Clients) (ports.ScaleIn, error) {
	s := rt.Config.ScaleIn
	if s.Group == "" {
		return nil, nil
	}
	return asg.New(autoscaling.NewFromConfig(cl.SDK), imds.NewFromConfig(cl.SDK), s.Group, s.Instance, s.Hook)
}

// RoleResultsAnnotator is ResultsAnnotator holding the instance's
// scale-in protection while each job is annotated.
func RoleResultsAnnotator(rt *role.Runtime, objects ports.ObjectStore, engines results.Engines, s ports.ScaleIn) (ports.Annotator, error) {
	a, err := ResultsAnnotator(objects, engines)
	if err != nil || s == nil {
		return a, err
	}
	return role.GuardAnnotator(a, role.NewGuard(s, rt.Config.ScaleIn.UnprotectAfter, rt.Log)), nil
}

// AnnotatorApp is WorkerApp that also lets the autoscaling group's
// termination shut it down.
func AnnotatorApp(rt *role.Runtime, ws WorkerSet, bus *message.Bus, store ports.JobStore, s ports.ScaleIn) (*role.App, error) {
	app, err := WorkerApp(rt, ws, bus, store)
	if err != nil {
		return nil, err
	}
	app.ScaleIn = s
	return app, nil
}
