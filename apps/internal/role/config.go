package role

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/apps/internal/pool"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports/message"
)

// Name identifies one deployable role; each is its own binary (apps/<name>).
type Name string

// The roles. Each scales and fails independently of the others; the
// message topology (message.DefaultTopology) names the queues each consumes.
const (
	Web       Name = "web"
	Annotator Name = message.RoleAnnotator
	Archiver  Name = message.RoleArchiver
	Thawer    Name = message.RoleThawer
	Restorer  Name = message.RoleRestorer
	Notifier  Name = message.RoleNotifier
	// Reconciler consumes no queue: it scans the stores and re-issues lost
	// messages (adapters/workers.Reconciler); `gas reconcile` runs one pass.
	Reconciler Name = message.RoleReconciler

	// Local is local mode (`gas serve`): one process playing every role.
	// It is no binary of its own, so Load refuses it.
	Local Name = "local"
)

// Roles lists every role, in the order the documentation shows them.
var Roles = []Name{Web, Annotator, Archiver, Thawer, Restorer, Notifier, Reconciler}

// consumers are the roles that consume a queue of the topology (their own
// or a dead-letter queue), in Roles order.
var consumers = func() []Name {
	var out []Name
	t := message.DefaultTopology()
	for _, r := range Roles {
		if slices.ContainsFunc(t.Queues, func(q message.QueueSpec) bool {
			return q.Consumer == string(r) || q.DeadLetterConsumer == string(r)
		}) {
			out = append(out, r)
		}
	}
	return out
}()

// ErrConfig is wrapped by every configuration mistake, so Main can exit
// with the usage status instead of a runtime failure.
var ErrConfig = errors.New("invalid role configuration")

// Pipeline tunes the queue consumers (adapters/workers.Config). Zero values
// take the pipeline's defaults.
type Pipeline struct {
	Concurrency  int
	Visibility   time.Duration
	Wait         time.Duration
	Heartbeat    time.Duration
	RetryDelay   time.Duration
	PollInterval time.Duration
	RedriveDelay time.Duration
	MaxRedrives  int
	// ReconcileInterval and ReconcileGrace tune the reconciler.
	ReconcileInterval time.Duration
	ReconcileGrace    time.Duration
	// RunnerConcurrency, when set, is how many jobs the annotator runner
	// works on at once instead of Concurrency: local mode annotates many
	// jobs at a time but handles every other queue one message at a time.
	RunnerConcurrency int
	// RunnerPool, when its Max is set, runs the annotator runner as an
	// elastic pool of between Min and Max loops sized by domain/scaling's
	// target tracking (local mode; on AWS the autoscaling group does it).
	RunnerPool pool.Config
}

// AnnotatorSettings are the annotator role's own settings.
type AnnotatorSettings struct {
	// Database is the annotation databases (gasdb) loaded once at start,
	// comma-separated, the default first: local paths or s3://bucket/key
	// objects.
	Database string
	// Known is the known-variants VCF (rsIDs, allele frequencies): a path
	// or an s3://bucket/key object downloaded once at start with its .tbi;
	// "" uses the source the database recorded when it is reachable, "none"
	// turns known variants off.
	Known string
	// Workers is the engine's annotating goroutines per job (0: one more
	// than GOMAXPROCS, reference.JobWorkers).
	Workers int
	// MaxAlts is the most ALT alleles one record may list (0: the engine's
	// default); a record with more fails its job, naming its line.
	MaxAlts int
}

// WebSettings are the web role's own settings.
type WebSettings struct {
	// SessionKey signs and encrypts session cookies; every web server of a
	// deployment needs the same one.
	SessionKey []byte
	// OIDC sign-in (Globus Auth by default).
	OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCRedirectURL string
	// References name the deployment's annotation databases (the
	// annotators' GAS_ANNOTATION_DB, in order): the first, the default,
	// is named on every page, and a job may ask for any of them.
	References []string
	// MetricsToken lets a scraper read the site's /metrics with it as a
	// bearer token; without it the site serves no /metrics.
	MetricsToken string
	// Admins are the operators' user ids: the admin page is theirs.
	Admins []domain.UserID
}

// ScaleInSettings tie an annotator to the autoscaling group its instance
// runs in (the stack's user data sets them): scale-in protection while it
// works, and the termination lifecycle hook.
type ScaleInSettings struct {
	// Group and Instance name the group and this instance; empty Group
	// turns both off.
	Group, Instance string
	// Hook is the group's termination lifecycle hook.
	Hook string
	// UnprotectAfter is how long an idle annotator stays protected.
	UnprotectAfter time.Duration
	// Poll is how often the instance's lifecycle state is read.
	Poll time.Duration
}

// Hooks are test-only fault injections. They are refused unless the AWS
// endpoint is a loopback address, so a real deployment cannot run with them.
type Hooks struct {
	// RefuseExpedited answers Expedited retrievals of archives whose key
	// contains this text ("*" for all) the way AWS does without capacity
	// (S3 GlacierExpeditedRetrievalNotAvailable, Glacier
	// InsufficientCapacityException), in the SDK's HTTP transport.
	RefuseExpedited string
	// AnnotateDelay holds every annotation this long before it starts, so a
	// test can act while a job is mid-run.
	AnnotateDelay time.Duration
	// FailJobWrites makes job-store writes of jobs whose input name contains
	// this text fail, as if the store were unreachable for them (a poison
	// message: its request can never be claimed).
	FailJobWrites string
	// JobWriteDelay holds every job-store write this long, widening the
	// window in which two workers race for one job.
	JobWriteDelay time.Duration
	// RecordCalls appends every AWS API call the role makes to this file
	// (awsfault.Recorder), for the test that its IAM policy allows
	// exactly what it calls.
	RecordCalls string
}

// Any reports whether a hook is set.
func (h Hooks) Any() bool { return h != Hooks{} }

// Config is one role's configuration, read from environment variables and
// flags (flags win). Every variable is listed by Settings.
type Config struct {
	Role Name
	// Addr is where the role listens: the web application for web, the
	// operations endpoints (/healthz, /readyz, /metrics) for workers.
	Addr string
	// MetricsAddr, when set, is a second listener for the operations
	// endpoints, apart from the public site (the web role, local mode).
	MetricsAddr   string
	LogLevel      slog.Level
	ShutdownGrace time.Duration
	// BaseURL is the site's external address (links in e-mails, sign-in
	// redirect, presigned upload redirect).
	BaseURL   string
	Policy    domain.Policy
	Pipeline  Pipeline
	Annotator AnnotatorSettings
	Web       WebSettings
	// DeadLetters makes the notifier drain every dead-letter queue.
	DeadLetters bool
	ScaleIn     ScaleInSettings
	Hooks       Hooks
	AWS         awsconfig.Config
}

// Runs reports whether the process runs role r's workers: a role runs its
// own, local mode every role's.
func (c Config) Runs(r Name) bool { return c.Role == r || c.Role == Local }

// defaults is the configuration before any variable is read.
func defaults(r Name) Config {
	c := Config{
		Role: r, Addr: "127.0.0.1:9090", LogLevel: slog.LevelInfo, ShutdownGrace: 25 * time.Second,
		BaseURL: "http://127.0.0.1:8080", Policy: domain.DefaultPolicy(), DeadLetters: true,
		Web:     WebSettings{OIDCIssuer: "https://auth.globus.org"},
		ScaleIn: ScaleInSettings{Hook: asg.DefaultHook, UnprotectAfter: 30 * time.Second, Poll: 5 * time.Second},
	}
	if r == Web {
		c.Addr = "127.0.0.1:8080"
		c.Policy.Upgrades = domain.UpgradeAdmin // no payment is taken: the operators grant premium
	}
	return c
}

// Validate rejects a configuration the role cannot run with, naming what
// is missing, so a bad deployment stops at start rather than mid-job.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := c.Policy.Validate(); err != nil {
		bad("%v", err)
	}
	if c.ShutdownGrace <= 0 {
		bad("GAS_SHUTDOWN_GRACE must be positive")
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("GAS_BASE_URL %q is not an absolute http(s) URL", c.BaseURL)
	}
	switch c.Role {
	case Annotator:
		if c.Annotator.Database == "" {
			bad("GAS_ANNOTATION_DB is required (a path or s3://bucket/key of a database built with `gas db build`)")
		}
	case Web:
		if len(c.Web.SessionKey) < 32 {
			bad("GAS_SESSION_KEY must be at least 32 bytes")
		}
		if c.Web.OIDCClientID == "" {
			bad("GAS_OIDC_CLIENT_ID is required")
		}
	}
	if (c.ScaleIn.Group == "") != (c.ScaleIn.Instance == "") {
		bad("GAS_AUTOSCALING_GROUP and GAS_INSTANCE_ID go together")
	}
	if c.ScaleIn.Group != "" && (c.ScaleIn.Hook == "" || c.ScaleIn.Poll <= 0) {
		bad("GAS_LIFECYCLE_HOOK and a positive GAS_LIFECYCLE_POLL are needed with GAS_AUTOSCALING_GROUP")
	}
	if c.Hooks.Any() && !loopback(c.AWS.Endpoint) {
		bad("GAS_TEST_* hooks are only honoured with a loopback GAS_AWS_ENDPOINT (a test server), never against AWS")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// OIDCRedirect is the sign-in callback URL: configured, or derived from
// the base URL.
func (c Config) OIDCRedirect() string {
	if c.Web.OIDCRedirectURL != "" {
		return c.Web.OIDCRedirectURL
	}
	return strings.TrimRight(c.BaseURL, "/") + "/auth/callback"
}

func loopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || endpoint == "" {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}
