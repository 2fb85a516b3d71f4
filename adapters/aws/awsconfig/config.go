// Package awsconfig is the one place that knows how a GAS deployment on AWS
// is named and reached: region, endpoint override (moto, LocalStack), bucket,
// table, queue and topic names, the retry policy, and how SDK clients are
// built from them. Every AWS adapter and role takes a Config so the Wire
// providers, `gas aws bootstrap` and the tests all agree on names.
package awsconfig

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gasproject/gas/ports/message"
)

// Cold-storage back ends selectable with GAS_COLD_STORAGE.
const (
	// ColdS3Glacier stores archives as S3 objects in the GLACIER storage
	// class: the default, since AWS closed Glacier vaults to new customers.
	ColdS3Glacier = "s3-glacier"
	// ColdVault stores archives in a Glacier vault, for accounts that have one.
	ColdVault = "glacier-vault"
)

// Mailers selectable with GAS_MAILER.
const (
	// MailerSES sends through Amazon SES v2.
	MailerSES = "ses"
	// MailerSMTP sends through any SMTP relay, for deployments without SES.
	MailerSMTP = "smtp"
)

// ErrInvalidConfig is wrapped by every configuration mistake so commands can
// report it as a usage error rather than a runtime failure.
var ErrInvalidConfig = errors.New("invalid AWS configuration")

// Names are the AWS resource names of one deployment. They default to a
// prefix plus a fixed suffix so a whole deployment (or one test) is renamed
// by changing GAS_AWS_PREFIX alone.
type Names struct {
	InputsBucket  string // uploaded VCFs (presigned POST target)
	ResultsBucket string // annotated VCFs, indexes, summaries, logs
	ArchiveBucket string // cold copies in the GLACIER storage class
	Vault         string // Glacier vault, when ColdStorage is ColdVault

	JobsTable   string
	UsersTable  string
	TokensTable string // personal API tokens (hashes only), read by the web role
	// SessionsTable keeps web sign-ins (hashes of the cookies' secrets),
	// read on every web request; DynamoDB's TTL deletes expired ones.
	SessionsTable string

	// Queues and Topics map every queue and topic of the message topology
	// (message.DefaultTopology, by base name) to its SQS or SNS name. Each
	// queue's dead-letter queue is message.DeadLetterName of its name.
	// Treat them as read-only: copies of a Config share them.
	Queues map[string]string
	Topics map[string]string
}

// DefaultNames derives every resource name from prefix (for example "gas-").
func DefaultNames(prefix string) Names {
	n := Names{
		InputsBucket:  prefix + "inputs",
		ResultsBucket: prefix + "results",
		ArchiveBucket: prefix + "archive",
		Vault:         prefix + "archive",

		JobsTable:     prefix + "jobs",
		UsersTable:    prefix + "users",
		TokensTable:   prefix + "tokens",
		SessionsTable: prefix + "sessions",

		Queues: map[string]string{},
		Topics: map[string]string{},
	}
	t := message.DefaultTopology()
	for _, q := range t.Queues {
		n.Queues[q.Name] = prefix + q.Name
	}
	n.Queues[t.Parked] = prefix + t.Parked
	for _, p := range t.Topics {
		n.Topics[p.Name] = prefix + p.Name
	}
	return n
}

// Queue is the SQS name of the topology's queue called base.
func (n Names) Queue(base string) string { return n.Queues[base] }

// Topic is the SNS name of the topology's topic called base.
func (n Names) Topic(base string) string { return n.Topics[base] }

// Tables lists the DynamoDB tables.
func (n Names) Tables() []string {
	return []string{n.JobsTable, n.UsersTable, n.TokensTable, n.SessionsTable}
}

// Buckets lists the S3 buckets.
func (n Names) Buckets() []string {
	return []string{n.InputsBucket, n.ResultsBucket, n.ArchiveBucket}
}

// queueVariable and topicVariable name the variable overriding the SQS or
// SNS name of a topology queue or topic (annotate: GAS_ANNOTATE_QUEUE,
// job-results: GAS_JOB_RESULTS_TOPIC).
func queueVariable(base string) string { return "GAS_" + envWord(base) + "_QUEUE" }

func topicVariable(base string) string { return "GAS_" + envWord(base) + "_TOPIC" }

func envWord(base string) string { return strings.ToUpper(strings.ReplaceAll(base, "-", "_")) }

// SMTP is the relay used when Mailer is MailerSMTP.
type SMTP struct {
	Addr     string // host:port
	Username string // empty: no AUTH
	Password string
}

// Config is everything an AWS adapter needs to find its resources.
type Config struct {
	Region string
	// Endpoint overrides every service endpoint (moto, LocalStack); empty
	// means the real AWS endpoints.
	Endpoint string
	// PathStyle addresses S3 as endpoint/bucket/key; required by moto and
	// implied by Endpoint unless GAS_S3_PATH_STYLE=false.
	PathStyle bool
	Prefix    string
	Names     Names

	ColdStorage string // ColdS3Glacier or ColdVault
	Mailer      string // MailerSES or MailerSMTP
	MailFrom    string
	SMTP        SMTP

	// MaxAttempts and MaxBackoff shape the SDK retryer (exponential backoff
	// with full jitter); throttling and 5xx are retried up to MaxAttempts.
	MaxAttempts int
	MaxBackoff  time.Duration
	// MaxReceives, when positive, overrides every queue's redrive
	// maxReceiveCount (message.QueueSpec.MaxReceives): a message received
	// more often goes to the queue's dead-letter queue.
	MaxReceives int
	// InputRetention expires uploaded inputs (lifecycle rule); 0 keeps them.
	InputRetentionDays int
}

// Default is a Config for prefix with the documented defaults.
func Default(prefix string) Config {
	return Config{
		Region:      "us-east-1",
		Prefix:      prefix,
		Names:       DefaultNames(prefix),
		ColdStorage: ColdS3Glacier,
		Mailer:      MailerSES,
		MailFrom:    "gas@example.org",
		MaxAttempts: 8,
		MaxBackoff:  20 * time.Second,
	}
}

// Topology is the message topology the deployment runs: the one definition
// (message.DefaultTopology) with GAS_MAX_RECEIVES applied.
func (c Config) Topology() message.Topology {
	return message.DefaultTopology().WithMaxReceives(c.MaxReceives)
}

// EnvVar documents one environment variable; Variables is what the README
// table is generated from, so code and documentation cannot drift.
type EnvVar struct {
	Name, Default, Meaning string
}

// Variables lists every environment variable FromEnv reads.
func Variables() []EnvVar {
	d := Default("gas-")
	n := d.Names
	vars := []EnvVar{
		{"GAS_AWS_REGION", d.Region, "AWS region (falls back to AWS_REGION)"},
		{"GAS_AWS_ENDPOINT", "", "endpoint override for every service, e.g. http://127.0.0.1:5000 for moto"},
		{"GAS_S3_PATH_STYLE", "true with an endpoint", "address S3 as endpoint/bucket/key"},
		{"GAS_AWS_PREFIX", d.Prefix, "prefix of every default resource name (bucket names are global: make it unique)"},
		{"GAS_INPUTS_BUCKET", n.InputsBucket, "bucket for uploaded inputs"},
		{"GAS_RESULTS_BUCKET", n.ResultsBucket, "bucket for results"},
		{"GAS_ARCHIVE_BUCKET", n.ArchiveBucket, "bucket for GLACIER-class archives"},
		{"GAS_GLACIER_VAULT", n.Vault, "Glacier vault (GAS_COLD_STORAGE=glacier-vault)"},
		{"GAS_JOBS_TABLE", n.JobsTable, "DynamoDB jobs table"},
		{"GAS_USERS_TABLE", n.UsersTable, "DynamoDB users table"},
		{"GAS_TOKENS_TABLE", n.TokensTable, "DynamoDB table of personal API tokens (hashes only)"},
		{"GAS_SESSIONS_TABLE", n.SessionsTable, "DynamoDB table of web sessions (hashes only; expired ones removed by TTL)"},
	}
	t := d.Topology()
	for _, q := range t.Queues {
		vars = append(vars, EnvVar{queueVariable(q.Name), n.Queue(q.Name), "SQS queue of " + q.Purpose})
	}
	vars = append(vars, EnvVar{queueVariable(t.Parked), n.Queue(t.Parked),
		"SQS queue of parked dead letters (redrives spent; consumed by nothing: alarm when it is not empty)"})
	for _, p := range t.Topics {
		vars = append(vars, EnvVar{topicVariable(p.Name), n.Topic(p.Name), "SNS topic of " + p.Purpose})
	}
	return append(vars, []EnvVar{
		{"GAS_COLD_STORAGE", d.ColdStorage, "s3-glacier (GLACIER storage class) or glacier-vault"},
		{"GAS_MAILER", d.Mailer, "ses or smtp"},
		{"GAS_MAIL_FROM", d.MailFrom, "sender address (a verified SES identity)"},
		{"GAS_SMTP_ADDR", "", "SMTP relay host:port (GAS_MAILER=smtp)"},
		{"GAS_SMTP_USERNAME", "", "SMTP AUTH user (empty: no AUTH)"},
		{"GAS_SMTP_PASSWORD", "", "SMTP AUTH password"},
		{"GAS_AWS_MAX_ATTEMPTS", strconv.Itoa(d.MaxAttempts), "SDK retry attempts (backoff with jitter)"},
		{"GAS_AWS_MAX_BACKOFF", d.MaxBackoff.String(), "longest pause between retries"},
		{"GAS_MAX_RECEIVES", "each queue's own (" + strconv.Itoa(message.DefaultMaxReceives) + ")",
			"deliveries before a message goes to its dead-letter queue, for every queue"},
		{"GAS_INPUT_RETENTION_DAYS", "0", "expire uploaded inputs after this many days (0: keep)"},
	}...)
}

// FromEnv reads the configuration from getenv (os.Getenv in production, a
// map in tests) and validates it.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	prefix := "gas-"
	if v, ok := lookup(getenv, "GAS_AWS_PREFIX"); ok {
		prefix = v
	}
	c := Default(prefix)
	if v, ok := lookup(getenv, "GAS_AWS_REGION"); ok {
		c.Region = v
	} else if v, ok := lookup(getenv, "AWS_REGION"); ok {
		c.Region = v
	}
	c.Endpoint = getenv("GAS_AWS_ENDPOINT")
	c.PathStyle = c.Endpoint != ""
	var errs []error
	if v, ok := lookup(getenv, "GAS_S3_PATH_STYLE"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GAS_S3_PATH_STYLE=%q: %w", v, err))
		}
		c.PathStyle = b
	}
	str := func(name string, dst *string) {
		if v, ok := lookup(getenv, name); ok {
			*dst = v
		}
	}
	n := &c.Names
	str("GAS_INPUTS_BUCKET", &n.InputsBucket)
	str("GAS_RESULTS_BUCKET", &n.ResultsBucket)
	str("GAS_ARCHIVE_BUCKET", &n.ArchiveBucket)
	str("GAS_GLACIER_VAULT", &n.Vault)
	str("GAS_JOBS_TABLE", &n.JobsTable)
	str("GAS_USERS_TABLE", &n.UsersTable)
	str("GAS_TOKENS_TABLE", &n.TokensTable)
	str("GAS_SESSIONS_TABLE", &n.SessionsTable)
	n.Queues, n.Topics = overrides(getenv, n.Queues, queueVariable), overrides(getenv, n.Topics, topicVariable)
	str("GAS_COLD_STORAGE", &c.ColdStorage)
	str("GAS_MAILER", &c.Mailer)
	str("GAS_MAIL_FROM", &c.MailFrom)
	str("GAS_SMTP_ADDR", &c.SMTP.Addr)
	str("GAS_SMTP_USERNAME", &c.SMTP.Username)
	str("GAS_SMTP_PASSWORD", &c.SMTP.Password)
	integer := func(name string, dst *int) {
		if v, ok := lookup(getenv, name); ok {
			i, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
			*dst = i
		}
	}
	integer("GAS_AWS_MAX_ATTEMPTS", &c.MaxAttempts)
	integer("GAS_MAX_RECEIVES", &c.MaxReceives)
	integer("GAS_INPUT_RETENTION_DAYS", &c.InputRetentionDays)
	if v, ok := lookup(getenv, "GAS_AWS_MAX_BACKOFF"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GAS_AWS_MAX_BACKOFF=%q: %w", v, err))
		}
		c.MaxBackoff = d
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return c, c.Validate()
}

// overrides is names with each entry replaced by its variable when set.
func overrides(getenv func(string) string, names map[string]string, variable func(string) string) map[string]string {
	out := maps.Clone(names)
	for base := range out {
		if v, ok := lookup(getenv, variable(base)); ok {
			out[base] = v
		}
	}
	return out
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

// Name checks are hand-written rather than regexps: compiling the four
// bounded-repetition patterns ({1,256} and the like) at package init cost
// every gas run about 1.7 ms and 0.6 MB, even runs that never touch AWS.

// nameOf reports whether s is min..max bytes long, every byte is allowed by
// mid, and the first and last bytes are allowed by edge.
func nameOf(s string, min, max int, edge, mid func(byte) bool) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (i == 0 || i == len(s)-1) && !edge(c) {
			return false
		}
		if !mid(c) {
			return false
		}
	}
	return true
}

func isLowerDigit(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerDigit(c) || c >= 'A' && c <= 'Z' }

func isAny(byte) bool { return true }

// bucketName: ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$
func bucketName(s string) bool {
	return nameOf(s, 3, 63, isLowerDigit, func(c byte) bool { return isLowerDigit(c) || c == '.' || c == '-' })
}

// tableName: ^[A-Za-z0-9_.-]{3,255}$
func tableName(s string) bool {
	return nameOf(s, 3, 255, isAny, func(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '-' })
}

// queueName: ^[A-Za-z0-9_-]{1,76}$ (80 less room for the "-dlq" suffix).
func queueName(s string) bool { return nameOf(s, 1, 76, isAny, isQueueByte) }

// topicName: ^[A-Za-z0-9_-]{1,256}$
func topicName(s string) bool { return nameOf(s, 1, 256, isAny, isQueueByte) }

func isQueueByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// Validate rejects a configuration AWS would refuse, naming the bad field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Region == "" {
		bad("region is empty")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("endpoint %q is not an http(s) URL", c.Endpoint)
		}
	}
	n := c.Names
	for _, b := range n.Buckets() {
		if !bucketName(b) {
			bad("bucket name %q is not a valid S3 bucket name", b)
		}
	}
	for _, t := range n.Tables() {
		if !tableName(t) {
			bad("table name %q is not a valid DynamoDB table name", t)
		}
	}
	for _, q := range slices.Sorted(maps.Values(n.Queues)) {
		if !queueName(q) {
			bad("queue name %q is not a valid SQS queue name (max 76 characters)", q)
		}
	}
	for _, t := range slices.Sorted(maps.Values(n.Topics)) {
		if !topicName(t) {
			bad("topic name %q is not a valid SNS topic name", t)
		}
	}
	switch c.ColdStorage {
	case ColdS3Glacier:
	case ColdVault:
		if n.Vault == "" {
			bad("cold storage %q needs a vault name", ColdVault)
		}
	default:
		bad("cold storage %q is neither %q nor %q", c.ColdStorage, ColdS3Glacier, ColdVault)
	}
	switch c.Mailer {
	case MailerSES:
	case MailerSMTP:
		if c.SMTP.Addr == "" {
			bad("mailer smtp needs GAS_SMTP_ADDR")
		}
	default:
		bad("mailer %q is neither %q nor %q", c.Mailer, MailerSES, MailerSMTP)
	}
	if c.MailFrom == "" {
		bad("mail sender is empty")
	}
	if c.MaxAttempts < 1 {
		bad("max attempts %d must be at least 1", c.MaxAttempts)
	}
	if c.MaxBackoff <= 0 {
		bad("max backoff %s must be positive", c.MaxBackoff)
	}
	if c.MaxReceives < 0 || c.MaxReceives > 1000 {
		bad("max receives %d must be within 1..1000 (0: each queue's own)", c.MaxReceives)
	}
	t := c.Topology()
	if err := t.Validate(); err != nil {
		bad("%v", err)
	}
	for _, q := range t.Queues {
		if n.Queue(q.Name) == "" {
			bad("queue %q of the topology has no name", q.Name)
		}
	}
	for _, p := range t.Topics {
		if n.Topic(p.Name) == "" {
			bad("topic %q of the topology has no name", p.Name)
		}
	}
	if c.InputRetentionDays < 0 {
		bad("input retention %d days is negative", c.InputRetentionDays)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}
