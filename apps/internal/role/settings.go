package role

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
)

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

// SplitIDs reads a comma-separated list of user ids (GAS_ADMINS, --admins).
func SplitIDs(v string) []domain.UserID {
	var out []domain.UserID
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, domain.UserID(s))
		}
	}
	return out
}

func int64Setting(dst func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		*dst(c) = n
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
		{Env: "GAS_METRICS_ADDR", Default: "", Roles: []Name{Web},
			Help:  "a second listen address serving /healthz, /readyz and /metrics apart from the public site (which serves /metrics only with GAS_METRICS_TOKEN)",
			apply: stringSetting(func(c *Config) *string { return &c.MetricsAddr })},
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
		{Env: "GAS_FREE_DECOMPRESSED_LIMIT", Default: domain.HumanBytes(p.FreeDecompressedLimit), Roles: all,
			Help:  "most VCF text a free user's job may hold once decompressed (checked while it streams; the job fails naming the limit)",
			apply: bytesSetting(func(c *Config) *int64 { return &c.Policy.FreeDecompressedLimit })},
		{Env: "GAS_MAX_DECOMPRESSED_SIZE", Default: domain.HumanBytes(p.MaxDecompressedSize), Roles: all,
			Help:  "most VCF text anyone's job may hold once decompressed",
			apply: bytesSetting(func(c *Config) *int64 { return &c.Policy.MaxDecompressedSize })},
		{Env: "GAS_FREE_RECORD_LIMIT", Default: strconv.FormatInt(p.FreeRecordLimit, 10), Roles: all,
			Help:  "most variant records a free user's job may hold",
			apply: int64Setting(func(c *Config) *int64 { return &c.Policy.FreeRecordLimit })},
		{Env: "GAS_MAX_RECORDS", Default: strconv.FormatInt(p.MaxRecords, 10), Roles: all,
			Help:  "most variant records anyone's job may hold",
			apply: int64Setting(func(c *Config) *int64 { return &c.Policy.MaxRecords })},
		{Env: "GAS_FREE_IN_FLIGHT", Default: strconv.Itoa(p.FreeInFlight), Roles: all,
			Help:  "jobs of one free user an annotator runs at once (never its last slot; see Fair share in docs/web.md)",
			apply: intSetting(func(c *Config) *int { return &c.Policy.FreeInFlight })},
		{Env: "GAS_PREMIUM_IN_FLIGHT", Default: strconv.Itoa(p.PremiumInFlight), Roles: all,
			Help:  "jobs of one premium user an annotator runs at once: premium's larger share",
			apply: intSetting(func(c *Config) *int { return &c.Policy.PremiumInFlight })},
		{Env: "GAS_UPGRADE_POLICY", Default: string(domain.UpgradeAdmin), Roles: []Name{Web},
			Help: "who changes plans: admin (operators grant and revoke premium with `gas users grant|revoke` or the admin page) " +
				"or open (users upgrade themselves without paying: demos only)",
			apply: func(c *Config, v string) error {
				p := domain.UpgradePolicy(v)
				if p != domain.UpgradeOpen && p != domain.UpgradeAdmin {
					return fmt.Errorf("%q is neither open nor admin", v)
				}
				c.Policy.Upgrades = p
				return nil
			}},
		{Env: "GAS_ADMINS", Default: "", Roles: []Name{Web},
			Help:  "comma-separated user ids (OIDC subjects) of the operators who may use the admin page",
			apply: func(c *Config, v string) error { c.Web.Admins = SplitIDs(v); return nil }},
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
		{Env: "GAS_MAX_REDRIVES", Default: "3", Roles: []Name{Notifier},
			Help:  "resends of a dead-lettered message before it is parked, with its reason, on the parked queue (alarm on its depth)",
			apply: intSetting(func(c *Config) *int { return &c.Pipeline.MaxRedrives })},
		{Env: "GAS_DEAD_LETTERS", Default: "true", Roles: []Name{Notifier},
			Help:  "drain every dead-letter queue: FAIL the jobs of dead requests (with the reason) and redrive housekeeping",
			apply: func(c *Config, v string) (err error) { c.DeadLetters, err = strconv.ParseBool(v); return err }},
		{Env: "GAS_RECONCILE_INTERVAL", Default: workers.DefaultReconcileInterval.String(), Roles: []Name{Reconciler},
			Help:  "how often the reconciler scans every job (strongly consistent reads of the whole jobs table) and re-issues lost messages",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.ReconcileInterval })},
		{Env: "GAS_RECONCILE_GRACE", Default: workers.DefaultReconcileGrace.String(), Roles: []Name{Reconciler},
			Help: "how long a message may take to act before the reconciler re-issues it: a job idle, a lease lapsed, a notice unsent, " +
				"results past their window or expected restore, for this long",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.Pipeline.ReconcileGrace })},

		{Env: "GAS_ANNOTATION_DB", Default: "(required)", Roles: []Name{Annotator},
			Help: "annotation databases (gas db build) loaded once at start, comma-separated, the default first " +
				"(jobs name the one they want): local paths or s3://bucket/key",
			apply: stringSetting(func(c *Config) *string { return &c.Annotator.Database })},
		{Env: "GAS_KNOWN_VARIANTS", Default: "recorded in the database", Roles: []Name{Annotator},
			Help: "known-variants VCF (bgzip + tabix) for rsIDs and allele frequencies: a path or s3://bucket/key, downloaded once at start " +
				"with its .tbi (built when absent); by default the source `gas db build --known` recorded, when reachable " +
				"(a relative one next to the database); none turns it off; with several databases, one per database, comma-separated",
			apply: stringSetting(func(c *Config) *string { return &c.Annotator.Known })},
		{Env: "GAS_ANNOTATOR_WORKERS", Default: "0 (GOMAXPROCS + 1)", Roles: []Name{Annotator}, Help: "engine goroutines annotating one job",
			apply: intSetting(func(c *Config) *int { return &c.Annotator.Workers })},
		{Env: "GAS_MAX_ALT_ALLELES", Default: strconv.Itoa(engine.DefaultMaxAlts), Roles: []Name{Annotator},
			Help:  "most ALT alleles one VCF record may list; a record with more fails its job as bad input naming the line",
			apply: intSetting(func(c *Config) *int { return &c.Annotator.MaxAlts })},

		{Env: "GAS_AUTOSCALING_GROUP", Default: "", Roles: []Name{Annotator},
			Help: "autoscaling group of this instance: with GAS_INSTANCE_ID the annotator keeps its instance protected from scale-in " +
				"while it works and, when the group terminates the instance, finishes or releases its job, then completes the " +
				"termination lifecycle hook (the stack's user data sets both)",
			apply: stringSetting(func(c *Config) *string { return &c.ScaleIn.Group })},
		{Env: "GAS_INSTANCE_ID", Default: "", Roles: []Name{Annotator}, Help: "this instance's EC2 id (from the instance metadata)",
			apply: stringSetting(func(c *Config) *string { return &c.ScaleIn.Instance })},
		{Env: "GAS_LIFECYCLE_HOOK", Default: asg.DefaultHook, Roles: []Name{Annotator}, Help: "the group's termination lifecycle hook",
			apply: stringSetting(func(c *Config) *string { return &c.ScaleIn.Hook })},
		{Env: "GAS_UNPROTECT_AFTER", Default: "30s", Roles: []Name{Annotator},
			Help:  "how long an idle annotator keeps its scale-in protection (one Auto Scaling call per busy spell, not per job)",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.ScaleIn.UnprotectAfter })},
		{Env: "GAS_LIFECYCLE_POLL", Default: "5s", Roles: []Name{Annotator},
			Help:  "how often the annotator reads its instance's lifecycle state (instance metadata) to notice a termination",
			apply: durationSetting(func(c *Config) *time.Duration { return &c.ScaleIn.Poll })},

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
		{Env: "GAS_METRICS_TOKEN", Default: "", Roles: []Name{Web},
			Help:  "bearer token a scraper presents to read the public site's /metrics; without it the site serves none (use GAS_METRICS_ADDR)",
			apply: stringSetting(func(c *Config) *string { return &c.Web.MetricsToken })},
		{Env: "GAS_REFERENCE_NAME", Default: "", Roles: []Name{Web},
			Help: "names of the annotation databases the annotators hold, comma-separated, the default first: it is shown on every page, " +
				"and a job may ask for any of them",
			apply: func(c *Config, v string) error { c.Web.References = splitList(v); return nil }},

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
		{Env: "GAS_TEST_RECORD_CALLS", Test: true, Roles: all,
			Help:  "test only: append every AWS API call (service, operation, resources) to this file as JSON lines",
			apply: stringSetting(func(c *Config) *string { return &c.Hooks.RecordCalls })},
	}
}

// bootstrapOnly marks AWS variables only `gas aws bootstrap` reads; the
// table lists them, no role takes them.
const bootstrapOnly Name = "gas aws bootstrap"

// awsRoles says which roles read each AWS variable; variables not listed
// are read by every role.
var awsRoles = map[string][]Name{
	"GAS_ARCHIVE_BUCKET":       {Web, Archiver, Thawer, Restorer}, // web: deleting a job deletes its cold copy
	"GAS_GLACIER_VAULT":        {Web, Archiver, Thawer, Restorer},
	"GAS_COLD_STORAGE":         {Web, Archiver, Thawer, Restorer},
	"GAS_TOKENS_TABLE":         {Web},
	"GAS_SESSIONS_TABLE":       {Web},
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

// splitList reads a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
