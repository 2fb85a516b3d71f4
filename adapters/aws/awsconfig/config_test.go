package awsconfig

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/ports/message"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvDefaultsAndOverrides(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" || c.Names.JobsTable != "gas-jobs" || c.Names.Queue(message.QueueArchive) != "gas-archive" ||
		c.ColdStorage != ColdS3Glacier || c.PathStyle || c.MaxReceives != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = FromEnv(env(map[string]string{
		"GAS_AWS_PREFIX": "acme-", "GAS_AWS_ENDPOINT": "http://127.0.0.1:5000", "AWS_REGION": "eu-west-1",
		"GAS_JOBS_TABLE": "Jobs", "GAS_TOKENS_TABLE": "Tokens", "GAS_COLD_STORAGE": "glacier-vault", "GAS_AWS_MAX_BACKOFF": "3s",
		"GAS_MAILER": "smtp", "GAS_SMTP_ADDR": "127.0.0.1:25", "GAS_MAX_RECEIVES": "2",
		"GAS_THAW_QUEUE": "Thawing", "GAS_RESTORE_COMPLETIONS_TOPIC": "restored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-1" || !c.PathStyle || c.Names.InputsBucket != "acme-inputs" || c.Names.JobsTable != "Jobs" || c.Names.TokensTable != "Tokens" ||
		c.ColdStorage != ColdVault || c.Names.Vault != "acme-archive" || c.MaxBackoff != 3*time.Second || c.Mailer != MailerSMTP {
		t.Fatalf("overrides: %+v", c)
	}
	// Every queue and topic of the topology has a name; variables rename one.
	n := c.Names
	if n.Queue(message.QueueThaw) != "Thawing" || n.Queue(message.QueueAnnotate) != "acme-annotate" ||
		n.Topic(message.TopicRestoreCompletions) != "restored" || n.Topic(message.TopicJobResults) != "acme-job-results" {
		t.Fatalf("queue and topic names: %v %v", n.Queues, n.Topics)
	}
	if len(n.Queues) != len(message.DefaultTopology().Queues)+1 || n.Queue(message.QueueParked) != "acme-parked" ||
		len(n.Topics) != len(message.DefaultTopology().Topics) {
		t.Fatalf("names of %d queues and %d topics", len(n.Queues), len(n.Topics))
	}
	for _, q := range c.Topology().Queues {
		if q.MaxReceives != 2 {
			t.Fatalf("GAS_MAX_RECEIVES=2 left queue %s at %d", q.Name, q.MaxReceives)
		}
	}
	if d := Default("x-"); d.Names.Queue(message.QueueThaw) != "x-thaw" {
		t.Fatal("FromEnv's overrides leaked into the defaults")
	}
}

func TestFromEnvRejectsMistakes(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"bucket name":  {"GAS_INPUTS_BUCKET": "Not_A_Bucket"},
		"endpoint":     {"GAS_AWS_ENDPOINT": "127.0.0.1:5000"},
		"cold storage": {"GAS_COLD_STORAGE": "tape"},
		"smtp addr":    {"GAS_MAILER": "smtp"},
		"attempts":     {"GAS_AWS_MAX_ATTEMPTS": "zero"},
		"backoff":      {"GAS_AWS_MAX_BACKOFF": "-1s"},
		"queue name":   {"GAS_THAW_QUEUE": strings.Repeat("q", 77)},
		"path style":   {"GAS_S3_PATH_STYLE": "sometimes"},
		"tokens table": {"GAS_TOKENS_TABLE": "no"},
		"topic name":   {"GAS_JOB_RESULTS_TOPIC": "no spaces"},
		"max receives": {"GAS_MAX_RECEIVES": "1001"},
	} {
		if _, err := FromEnv(env(m)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestVariablesDocumentEveryOverride(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables() {
		if seen[v.Name] || v.Meaning == "" {
			t.Errorf("variable %s duplicated or undocumented", v.Name)
		}
		seen[v.Name] = true
	}
	for _, must := range []string{"GAS_AWS_REGION", "GAS_AWS_ENDPOINT", "GAS_JOBS_TABLE", "GAS_TOKENS_TABLE", "GAS_RESTORE_QUEUE",
		"GAS_ANNOTATE_QUEUE", "GAS_JOB_RESULTS_TOPIC", "GAS_RESTORE_COMPLETIONS_TOPIC", "GAS_COLD_STORAGE", "GAS_MAX_RECEIVES"} {
		if !seen[must] {
			t.Errorf("%s is not documented", must)
		}
	}
}

// TestRetryerSkipsCapacityAnswers: throttling and 5xx are retried with
// backoff, but "no Expedited capacity" (a 503 in S3) is not.
func TestRetryerSkipsCapacityAnswers(t *testing.T) {
	r := NewRetryer(5, time.Second)
	if r.MaxAttempts() != 5 {
		t.Fatalf("max attempts %d", r.MaxAttempts())
	}
	for code, want := range map[string]bool{
		"GlacierExpeditedRetrievalNotAvailable": false,
		"InsufficientCapacityException":         false,
		"ThrottlingException":                   true,
		"SlowDown":                              true,
	} {
		err := &smithy.GenericAPIError{Code: code}
		if got := r.IsErrorRetryable(err); got != want {
			t.Errorf("%s retryable = %v, want %v", code, got, want)
		}
	}
	d, err := r.RetryDelay(3, &smithy.GenericAPIError{Code: "ThrottlingException"})
	if err != nil || d < 0 || d > time.Second {
		t.Errorf("retry delay %s, %v; want within the 1 s cap", d, err)
	}
}
