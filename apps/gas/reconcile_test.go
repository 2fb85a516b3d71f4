package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports/message"
)

// TestReconcileCommandRequestsAStrandedJob: a web server died between
// storing a job in DynamoDB and publishing its request (the job is written
// directly here and nothing is published). `gas reconcile --dry-run`
// reports it and sends nothing; `gas reconcile` publishes its request,
// which reaches the annotate queue through SNS.
func TestReconcileCommandRequestsAStrandedJob(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	vars := map[string]string{"GAS_AWS_ENDPOINT": env.Config.Endpoint, "GAS_AWS_PREFIX": env.Config.Prefix,
		"GAS_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return vars[k] }
	users, err := dynamostore.NewUserStore(env.Clients.DynamoDB, env.Config.Names.UsersTable)
	if err != nil {
		t.Fatal(err)
	}
	jobStore, err := dynamostore.NewJobStore(env.Clients.DynamoDB, env.Config.Names.JobsTable)
	if err != nil {
		t.Fatal(err)
	}
	submitted := time.Now().Add(-time.Hour)
	u, _ := domain.NewUser("ada", "Ada", "ada@example.org", "", submitted)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	j, _ := domain.NewJob("stranded-1", "ada", "a.vcf", "inputs/ada/stranded-1/input", 10, submitted)
	if err := jobStore.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	annotate, err := sqsqueue.Open(ctx, env.Clients.SQS, env.Config.Names.Queue(message.QueueAnnotate), nil)
	if err != nil {
		t.Fatal(err)
	}

	var out, logs bytes.Buffer
	if err := reconcileWith(ctx, []string{"--dry-run"}, getenv, &out, &logs); err != nil {
		t.Fatalf("gas reconcile --dry-run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "would re-issue (dry run)") || !regexpLine(out.String(), "pending_unrequested", "1") {
		t.Fatalf("dry run printed:\n%s", out.String())
	}
	if st, _ := annotate.Stats(ctx); st.Visible+st.Delayed != 0 {
		t.Fatalf("a dry run sent %+v", st)
	}

	out.Reset()
	if err := reconcileWith(ctx, []string{"--json"}, getenv, &out, &logs); err != nil {
		t.Fatalf("gas reconcile: %v\n%s", err, logs.String())
	}
	var rep struct {
		DryRun  bool           `json:"dry_run"`
		Scanned int            `json:"scanned"`
		Found   map[string]int `json:"found"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.DryRun || rep.Scanned != 1 || rep.Found["pending_unrequested"] != 1 {
		t.Fatalf("report %s: %+v, %v", out.String(), rep, err)
	}
	ms, err := annotate.Receive(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(ms) != 1 {
		t.Fatalf("annotate queue after reconciling: %v, %v", ms, err)
	}
	if m, err := message.Decode(ms[0].Body); err != nil || m.Kind != message.KindJobRequest || m.Job != "stranded-1" {
		t.Fatalf("request %s: %v", ms[0].Body, err)
	}
	if err := reconcileWith(ctx, []string{"--grace", "1m"}, getenv, &out, &logs); !errors.Is(err, errUsage) {
		t.Fatalf("an unknown flag: %v, want a usage error", err)
	}
}

// regexpLine reports whether out has a line with name then value.
func regexpLine(out, name, value string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name && f[1] == value {
			return true
		}
	}
	return false
}
