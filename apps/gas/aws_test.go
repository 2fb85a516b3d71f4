package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/aws/awstest"
)

// TestAWSBootstrapTwice runs `gas aws bootstrap` twice against the test
// server: the first run creates the deployment, the second finds it up to
// date.
func TestAWSBootstrapTwice(t *testing.T) {
	ep := awstest.Endpoint(t)
	prefix := "c" + awstest.Unique() + "-"
	args := []string{"-endpoint", ep, "-prefix", prefix}
	var out, errOut bytes.Buffer
	if err := runAWSBootstrap(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("first bootstrap: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "created 25 resources") || !strings.Contains(out.String(), prefix+"annotate-dlq") || !strings.Contains(out.String(), prefix+"tokens") {
		t.Fatalf("first bootstrap printed:\n%s", out.String())
	}
	out.Reset()
	if err := runAWSBootstrap(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if !strings.Contains(out.String(), "up to date (nothing created)") {
		t.Fatalf("second bootstrap printed:\n%s", out.String())
	}
}

func TestAWSCommandUsage(t *testing.T) {
	if err := dispatch(t.Context(), "aws", nil); !errors.Is(err, errUsage) {
		t.Fatalf("gas aws: %v, want a usage error", err)
	}
	if err := dispatch(t.Context(), "aws", []string{"frobnicate"}); !errors.Is(err, errUsage) {
		t.Fatalf("gas aws frobnicate: %v, want a usage error", err)
	}
	var out, errOut bytes.Buffer
	if err := runAWSBootstrap(t.Context(), []string{"-cold-storage", "tape"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("bad cold storage: %v, want a usage error", err)
	}
	var env bytes.Buffer
	if err := printAWSEnv(&env); err != nil || !strings.Contains(env.String(), "| `GAS_AWS_ENDPOINT` |") {
		t.Fatalf("gas aws env: %v\n%s", err, env.String())
	}
}
