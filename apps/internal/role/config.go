package role

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/domain"
)

// Name identifies one deployable role; each is its own binary (apps/<name>).
type Name string

// The roles of issue 5. Each scales and fails independently of the others.
const (
	Web       Name = "web"
	Annotator Name = "annotator"
	Archiver  Name = "archiver"
	Thawer    Name = "thawer"
	Restorer  Name = "restorer"
	Notifier  Name = "notifier"
)

// Roles lists every role, in the order the documentation shows them.
var Roles = []Name{Web, Annotator, Archiver, Thawer, Restorer, Notifier}

// consumers are the roles that consume a queue.
var consumers = []Name{Annotator, Archiver, Thawer, Restorer, Notifier}

// ErrConfig is wrapped by every configuration mistake, so Main can exit
// with the usage status instead of a runtime failure.
var ErrConfig = errors.New("invalid role configuration")

// Pipeline tunes the queue consumers (domain/pipeline.Config). Zero values
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
}

// AnnotatorSettings are the annotator role's own settings.
type AnnotatorSettings struct {
	// Database is the annotation database (gasdb) loaded once at start: a
	// local path or an s3://bucket/key object.
	Database string
	// Known is the known-variants VCF (rsIDs, allele frequencies): a path
	// or an s3://bucket/key object downloaded once at start with its .tbi;
	// "" uses the source the database recorded when it is reachable, "none"
	// turns known variants off.
	Known string
	// Workers is the engine's annotating goroutines per job (0: GOMAXPROCS).
	Workers int
}

// WebSettings are the web role's own settings.
type WebSettings struct {
	// SessionKey signs and encrypts session cookies; every web server of a
	// deployment needs the same one.
	SessionKey []byte
	// OIDC sign-in (Globus Auth by default).
	OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCRedirectURL string
	// Reference names the annotation database on every page.
	Reference string
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
}

// Any reports whether a hook is set.
func (h Hooks) Any() bool { return h != Hooks{} }

// Config is one role's configuration, read from environment variables and
// flags (flags win). Every variable is listed by Settings.
type Config struct {
	Role Name
	// Addr is where the role listens: the web application for web, the
	// operations endpoints (/healthz, /readyz, /metrics) for workers.
	Addr          string
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
	Hooks       Hooks
	AWS         awsconfig.Config
}

// Setting documents one configuration variable and applies it.
type Setting struct {
	Env     string
	Default string // as documented
	// Roles that read it; nil means every role.
	Roles []Name
	Help  string
	// Test marks test-only hooks.
	Test  bool
	apply func(c *Config, v string) error
}

// Flag is the setting's command-line flag: the variable's name without
// GAS_, lower-cased, with dashes (GAS_FREE_WINDOW -> --free-window).
func (s Setting) Flag() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.Env, "GAS_")), "_", "-")
}

// For reports whether role r reads the setting.
func (s Setting) For(r Name) bool { return s.Roles == nil || slices.Contains(s.Roles, r) }

func durationSetting(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("negative duration %s", v)
		}
		*dst(c) = d
		return nil
	}
}

func intSetting(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		i, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if i < 0 {
			return fmt.Errorf("negative number %d", i)
		}
		*dst(c) = i
		return nil
	}
}

func bytesSetting(dst func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := ParseBytes(v)
		if err != nil {
			return err
		}
		*dst(c) = n
		return nil
	}
}

func stringSetting(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

// ParseBytes reads a size such as 153600, 150KiB, 150K, 2GiB or 2G (K, M
// and G are binary multiples, like the tier limits users are shown).
func ParseBytes(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size (e.g. 150KiB)", v)
	}
	return n * mult, nil
}

// Settings lists every variable the roles read besides the AWS ones
// (awsconfig.Variables), in documentation order.
func Settings() []Setting {
	p := domain.DefaultPolicy()
	all := []Name(nil)
	return []Setting{
		{Env: "GAS_ADDR", Default: "127.0.0.1:8080 (web), 127.0.0.1:9090 (workers)", Roles: all,
			Help:  "listen address: the web application for web, /healthz /readyz /metrics for the workers (port 0 picks a free port, logged at start)",
			apply: stringSetting(func(c *Config) *string { return &c.Addr })},
		{Env: "GAS_LOG_LEVEL", Default: "info", Roles: all, Help: "debug, info, warn or error (JSON logs on standard error)",
			apply: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{Env: "GAS_SHUTDOWN_GRACE", Default: "25s", Roles: all,
			Help:  "on SIGTERM, how long in-flight work may finish before it is released to other instances (keep it above GAS_POLL_WAIT)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
		{Env: "GAS_BASE_URL", Default: "http://127.0.0.1:8080", Roles: []Name{Web, Notifier},
			Help:  "the site's external URL: links in e-mails, sign-in and upload redirects",
			apply: stringSetting(func(c *Config) *string { return &c.BaseURL })},

		{Env: "GAS_FREE_INPUT_LIMIT", Default: domain.HumanBytes(p.FreeInputLimit), Roles: all,
			Help: "largest input a free user may submit (150KiB, 153600)", apply: bytesSetting(func(c *Config) *int64 { return &c.Policy.FreeInputLimit })},
		{Env: "GAS_MAX_INPUT_SIZE", Default: domain.HumanBytes(p.MaxInputSize), Roles: all,
			Help: "largest input anyone may submit", apply: bytesSetting(func(c *Config) *int64 { return &c.Policy.MaxInputSize })},
		{Env: "GAS_FREE_WINDOW", Default: p.FreeWindow.String(), Roles: all,
			Help:  "how long a free user's results stay downloadable before they are archived",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Policy.FreeWindow })},
		{Env: "GAS_MAX_ATTEMPTS", Default: strconv.Itoa(p.MaxAttempts), Roles: all,
			Help: "runs of a job (interrupted or failing) before it is FAILED", apply: intSetting(func(c *Config) *int { return &c.Policy.MaxAttempts })},
		{Env: "GAS_LEASE", Default: p.Lease.String(), Roles: all,
			Help:  "an annotator's claim on a job; renewed while it runs, taken over when its annotator dies",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Policy.Lease })},
		{Env: "GAS_EXPEDITED_RESTORE", Default: p.ExpeditedRestore.String(), Roles: all,
			Help:  "expected Expedited retrieval time: shown to users, and when the restorer first polls",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Policy.ExpeditedRestore })},
		{Env: "GAS_STANDARD_RESTORE", Default: p.StandardRestore.String(), Roles: all,
			Help:  "expected Standard retrieval time (as above)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Policy.StandardRestore })},

		{Env: "GAS_CONCURRENCY", Default: "1", Roles: consumers,
			Help:  "messages one process handles at once (an annotator's engine already uses every core for one job)",
			apply: intSetting(func(c *Config) *int { return &c.Pipeline.Concurrency })},
		{Env: "GAS_VISIBILITY", Default: "2 × lease, at least 1m", Roles: consumers,
			Help:  "how long a received message stays hidden from other instances (extended while it is worked on)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.Visibility })},
		{Env: "GAS_POLL_WAIT", Default: "20s", Roles: consumers, Help: "long-poll wait of each receive",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.Wait })},
		{Env: "GAS_HEARTBEAT", Default: "⅓ of the shorter of visibility and lease", Roles: consumers,
			Help:  "how often visibility and the job lease are extended while work runs",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.Heartbeat })},
		{Env: "GAS_RETRY_DELAY", Default: "10s", Roles: consumers, Help: "first back-off after a failed step; doubles per delivery up to 15m",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.RetryDelay })},
		{Env: "GAS_RESTORE_POLL_INTERVAL", Default: "1m", Roles: []Name{Restorer},
			Help:  "how often the restorer re-checks a retrieval that was not done when expected (polling fallback)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.PollInterval })},
		{Env: "GAS_REDRIVE_DELAY", Default: "5m", Roles: []Name{Notifier},
			Help:  "how long the dead-letter handler waits before sending a failed housekeeping message back to its queue",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.RedriveDelay })},
		{Env: "GAS_MAX_REDRIVES", Default: "3", Roles: []Name{Notifier}, Help: "resends of a dead-lettered message before it is dropped",
			apply: intSetting(func(c *Config) *int { return &c.Pipeline.MaxRedrives })},
		{Env: "GAS_DEAD_LETTERS", Default: "true", Roles: []Name{Notifier},
			Help:  "drain every dead-letter queue: FAIL the jobs of dead requests (with the reason) and redrive housekeeping",
			apply: func(c *Config, v string) (err error) { c.DeadLetters, err = strconv.ParseBool(v); return err }},

		{Env: "GAS_ANNOTATION_DB", Default: "(required)", Roles: []Name{Annotator},
			Help:  "annotation database (gas db build) loaded once at start: a local path or s3://bucket/key",
			apply: stringSetting(func(c *Config) *string { return &c.Annotator.Database })},
		{Env: "GAS_KNOWN_VARIANTS", Default: "recorded in the database", Roles: []Name{Annotator},
			Help: "known-variants VCF (bgzip + tabix) for rsIDs and allele frequencies: a path or s3://bucket/key, downloaded once at start " +
				"with its .tbi (built when absent); by default the source `gas db build --known` recorded, when reachable " +
				"(a relative one next to the database); none turns it off",
			apply: stringSetting(func(c *Config) *string { return &c.Annotator.Known })},
		{Env: "GAS_ANNOTATOR_WORKERS", Default: "0 (all cores)", Roles: []Name{Annotator}, Help: "engine goroutines annotating one job",
			apply: intSetting(func(c *Config) *int { return &c.Annotator.Workers })},

		{Env: "GAS_SESSION_KEY", Default: "(required)", Roles: []Name{Web},
			Help:  "secret of at least 32 bytes signing and encrypting session cookies; the same on every web server",
			apply: func(c *Config, v string) error { c.Web.SessionKey = []byte(v); return nil }},
		{Env: "GAS_OIDC_ISSUER", Default: "https://auth.globus.org", Roles: []Name{Web}, Help: "OpenID Connect issuer (Globus Auth)",
			apply: stringSetting(func(c *Config) *string { return &c.Web.OIDCIssuer })},
		{Env: "GAS_OIDC_CLIENT_ID", Default: "(required)", Roles: []Name{Web}, Help: "OIDC client id registered with the issuer",
			apply: stringSetting(func(c *Config) *string { return &c.Web.OIDCClientID })},
		{Env: "GAS_OIDC_CLIENT_SECRET", Default: "", Roles: []Name{Web}, Help: "OIDC client secret",
			apply: stringSetting(func(c *Config) *string { return &c.Web.OIDCClientSecret })},
		{Env: "GAS_OIDC_REDIRECT_URL", Default: "GAS_BASE_URL + /auth/callback", Roles: []Name{Web},
			Help: "callback URL registered with the issuer", apply: stringSetting(func(c *Config) *string { return &c.Web.OIDCRedirectURL })},
		{Env: "GAS_REFERENCE_NAME", Default: "", Roles: []Name{Web}, Help: "annotation database name shown on every page",
			apply: stringSetting(func(c *Config) *string { return &c.Web.Reference })},

		{Env: "GAS_TEST_REFUSE_EXPEDITED", Test: true, Roles: []Name{Thawer, Archiver},
			Help:  "test only: refuse Expedited retrievals of archive keys containing this text (* for all) as AWS does without capacity",
			apply: stringSetting(func(c *Config) *string { return &c.Hooks.RefuseExpedited })},
		{Env: "GAS_TEST_ANNOTATE_DELAY", Test: true, Roles: []Name{Annotator},
			Help:  "test only: hold every annotation this long before it starts",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Hooks.AnnotateDelay })},
		{Env: "GAS_TEST_FAIL_JOB_WRITES", Test: true, Roles: consumers,
			Help:  "test only: job-store writes fail for jobs whose input name contains this text (poison messages)",
			apply: stringSetting(func(c *Config) *string { return &c.Hooks.FailJobWrites })},
		{Env: "GAS_TEST_JOB_WRITE_DELAY", Test: true, Roles: consumers,
			Help:  "test only: hold every job-store write this long (widens claim races)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Hooks.JobWriteDelay })},
	}
}

// bootstrapOnly marks AWS variables only `gas aws bootstrap` reads; the
// table lists them, no role takes them.
const bootstrapOnly Name = "gas aws bootstrap"

// awsRoles says which roles read each AWS variable; variables not listed
// are read by every role.
var awsRoles = map[string][]Name{
	"GAS_ARCHIVE_BUCKET":       {Archiver, Thawer, Restorer},
	"GAS_GLACIER_VAULT":        {Archiver, Thawer, Restorer},
	"GAS_COLD_STORAGE":         {Archiver, Thawer, Restorer},
	"GAS_TOKENS_TABLE":         {Web},
	"GAS_MAILER":               {Notifier},
	"GAS_MAIL_FROM":            {Notifier},
	"GAS_SMTP_ADDR":            {Notifier},
	"GAS_SMTP_USERNAME":        {Notifier},
	"GAS_SMTP_PASSWORD":        {Notifier},
	"GAS_MAX_RECEIVES":         {bootstrapOnly},
	"GAS_INPUT_RETENTION_DAYS": {bootstrapOnly},
}

// AWSSettings are awsconfig.Variables as Settings (flags derived the same
// way), so the roles take them from flags too and the table lists them.
func AWSSettings() []Setting {
	var out []Setting
	for _, v := range awsconfig.Variables() {
		out = append(out, Setting{Env: v.Name, Default: v.Default, Roles: awsRoles[v.Name], Help: v.Meaning})
	}
	return out
}

// defaults is the configuration before any variable is read.
func defaults(r Name) Config {
	c := Config{
		Role: r, Addr: "127.0.0.1:9090", LogLevel: slog.LevelInfo, ShutdownGrace: 25 * time.Second,
		BaseURL: "http://127.0.0.1:8080", Policy: domain.DefaultPolicy(), DeadLetters: true,
		Web: WebSettings{OIDCIssuer: "https://auth.globus.org"},
	}
	if r == Web {
		c.Addr = "127.0.0.1:8080"
	}
	return c
}

// Load reads role r's configuration from getenv (os.Getenv when nil) and
// args (flags win over variables), and validates it.
func Load(r Name, args []string, getenv func(string) string) (Config, error) {
	if !slices.Contains(Roles, r) {
		return Config{}, fmt.Errorf("%w: unknown role %q", ErrConfig, r)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	fs := flag.NewFlagSet("gas-"+string(r), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	own := append(Settings(), AWSSettings()...)
	for _, s := range own {
		if s.For(r) {
			flags[s.Env] = fs.String(s.Flag(), "", s.Help+" ($"+s.Env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, flag.ErrHelp
		}
		return Config{}, fmt.Errorf("%w: %v (see docs/configuration.md)", ErrConfig, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	lookup := func(env string) string {
		for _, s := range own {
			if s.Env == env && s.For(r) && set[s.Flag()] {
				return *flags[env]
			}
		}
		return getenv(env)
	}
	c := defaults(r)
	var errs []error
	for _, s := range Settings() {
		if !s.For(r) {
			continue
		}
		v := strings.TrimSpace(lookup(s.Env))
		if v == "" {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, v, err))
		}
	}
	aws, err := awsconfig.FromEnv(lookup)
	if err != nil {
		errs = append(errs, err)
	}
	c.AWS = aws
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Usage lists role r's flags with their variables, for --help.
func Usage(r Name) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [flags]\n\nEvery flag has an environment variable; flags win. See docs/configuration.md.\n\n", r)
	for _, s := range append(Settings(), AWSSettings()...) {
		if !s.For(r) {
			continue
		}
		def := ""
		if s.Default != "" {
			def = " (default " + s.Default + ")"
		}
		fmt.Fprintf(&b, "  --%s  $%s%s\n      %s\n", s.Flag(), s.Env, def, s.Help)
	}
	return b.String()
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

// Markdown renders the configuration table of every role, generated from
// Settings and AWSSettings so the documentation cannot drift from the code.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Configuration of the AWS roles

<!-- Generated by apps/internal/role (go test ./apps/internal/role -run TestConfigurationDoc -update); do not edit. -->

GAS on AWS runs as six roles, each its own binary: ` + "`web`, `annotator`, `archiver`, `thawer`, `restorer`, `notifier`" + `
(` + "`go build ./apps/<role>`" + `). Each reads the environment variables below; every variable a role reads also has
a flag (` + "`--free-window 5m`" + ` for ` + "`GAS_FREE_WINDOW`" + `), and flags win. The tier policy variables must be the same
for every role of a deployment. All roles answer ` + "`/healthz`" + ` (alive), ` + "`/readyz`" + ` (dependencies reachable, not shutting
down) and ` + "`/metrics`" + ` (Prometheus) on ` + "`GAS_ADDR`" + `, log JSON lines to standard error, and on SIGTERM stop taking work,
let in-flight work finish for ` + "`GAS_SHUTDOWN_GRACE`" + `, then release what is left (its message becomes visible again).
Create the resources first with ` + "`gas aws bootstrap`" + ` (same variables).

`)
	table := func(title string, rows []Setting) {
		fmt.Fprintf(&b, "## %s\n\n| Variable | Flag | Default | Roles | Meaning |\n|---|---|---|---|---|\n", title)
		for _, s := range rows {
			roles := "all"
			if s.Roles != nil {
				names := make([]string, len(s.Roles))
				for i, r := range s.Roles {
					names[i] = string(r)
				}
				roles = strings.Join(names, ", ")
			}
			def := s.Default
			if def != "" {
				def = "`" + def + "`"
			}
			flagName := "`--" + s.Flag() + "`"
			if slices.Equal(s.Roles, []Name{bootstrapOnly}) {
				flagName = "—" // bootstrap reads the variable only
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.Env, flagName, def, roles, strings.ReplaceAll(s.Help, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	var roleRows, testRows []Setting
	for _, s := range Settings() {
		if s.Test {
			testRows = append(testRows, s)
		} else {
			roleRows = append(roleRows, s)
		}
	}
	table("Roles, tier policy and pipeline", roleRows)
	table("AWS resources (shared with `gas aws bootstrap`)", AWSSettings())
	table("Test-only hooks (refused unless GAS_AWS_ENDPOINT is a loopback test server)", testRows)
	b.WriteString(`## Example: a whole deployment against moto on one machine

` + "```sh" + `
moto_server -H 127.0.0.1 -p 5000 &
export GAS_AWS_ENDPOINT=http://127.0.0.1:5000 GAS_AWS_PREFIX=demo- GAS_MAIL_FROM=gas@example.org
go build -o bin/ ./apps/gas ./apps/web ./apps/annotator ./apps/archiver ./apps/thawer ./apps/restorer ./apps/notifier
bin/gas aws bootstrap                                   # buckets, tables, queues + DLQs, topics (idempotent)
aws --endpoint-url $GAS_AWS_ENDPOINT sesv2 create-email-identity --email-identity $GAS_MAIL_FROM
bin/gas db build --gff3 genes.gff3 --fasta genome.fa -o ref.gasdb
GAS_ANNOTATION_DB=ref.gasdb GAS_ADDR=127.0.0.1:9101 bin/annotator &   # or s3://bucket/key
GAS_ADDR=127.0.0.1:9102 bin/archiver & GAS_ADDR=127.0.0.1:9103 bin/thawer &
GAS_ADDR=127.0.0.1:9104 bin/restorer & GAS_ADDR=127.0.0.1:9105 bin/notifier &
GAS_SESSION_KEY=$(head -c 32 /dev/urandom | base64) GAS_OIDC_CLIENT_ID=... GAS_OIDC_CLIENT_SECRET=... bin/web
` + "```" + `

Run more annotators for more throughput (each needs its own GAS_ADDR on one machine). The end-to-end test
(` + "`apps/internal/e2e`" + `, run by ` + "`./.ci/test`" + `) does exactly this with short windows.
`)
	return b.String()
}
