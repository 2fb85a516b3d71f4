// Package awstest connects tests to the AWS API server named by
// GAS_TEST_AWS_ENDPOINT (moto in server mode, started by .ci/test)
// and gives each test its own uniquely named deployment, so tests run in
// parallel against one server without seeing each other's data.
//
// Without GAS_TEST_AWS_ENDPOINT the tests skip with a message saying how to
// run them, unless GAS_REQUIRE_AWS=1 (set by CI), where they fail: CI must
// never pass by silently skipping the AWS suite.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/bootstrap"
)

// EndpointEnv names the AWS API server for tests.
const EndpointEnv = "GAS_TEST_AWS_ENDPOINT"

// RequireEnv makes a missing endpoint a failure instead of a skip.
const RequireEnv = "GAS_REQUIRE_AWS"

// Endpoint returns the test server's URL, or skips (fails under
// GAS_REQUIRE_AWS=1) when none is configured. It only accepts loopback
// addresses: tests never talk to a real AWS account.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv(EndpointEnv)
	if ep == "" {
		msg := EndpointEnv + " is not set: run ./.ci/test (starts moto_server) or export " +
			EndpointEnv + "=http://127.0.0.1:PORT of a running moto_server"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1 requires the AWS tests", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(ep)
	if err != nil || u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1" {
		t.Fatalf("%s=%q must be a loopback http URL", EndpointEnv, ep)
	}
	return ep
}

// Unique returns a short random lowercase name part, valid in bucket,
// table, queue and topic names.
func Unique() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Config is a configuration for a fresh deployment prefix on the test
// server; nothing is created yet.
func Config(t testing.TB) awsconfig.Config {
	t.Helper()
	c := awsconfig.Default("t" + Unique() + "-")
	c.Endpoint = Endpoint(t)
	c.PathStyle = true
	c.MaxAttempts = 3
	c.MaxBackoff = 200 * time.Millisecond
	return c
}

// Env is a test's deployment: its configuration and SDK clients.
type Env struct {
	Config  awsconfig.Config
	Clients *awsconfig.Clients
}

// New makes clients for a fresh prefix without creating resources, for
// tests that create exactly what they exercise.
func New(t testing.TB, opts ...awsconfig.Option) *Env {
	t.Helper()
	return NewWith(t, Config(t), opts...)
}

// NewWith makes clients for c.
func NewWith(t testing.TB, c awsconfig.Config, opts ...awsconfig.Option) *Env {
	t.Helper()
	cl, err := awsconfig.NewClients(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("AWS clients for %s: %v", c.Endpoint, err)
	}
	return &Env{Config: c, Clients: cl}
}

// Deployment bootstraps a whole fresh deployment (buckets, tables, queues
// with DLQs, topics and subscriptions) and returns it with the result.
func Deployment(t testing.TB, opts ...awsconfig.Option) (*Env, *bootstrap.Result) {
	t.Helper()
	return DeploymentWith(t, Config(t), opts...)
}

// DeploymentWith bootstraps c.
func DeploymentWith(t testing.TB, c awsconfig.Config, opts ...awsconfig.Option) (*Env, *bootstrap.Result) {
	t.Helper()
	e := NewWith(t, c, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := bootstrap.Run(ctx, e.Clients, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("bootstrap %s on %s: %v", c.Prefix, c.Endpoint, err)
	}
	return e, res
}

// Ctx is a per-test context cancelled at cleanup, bounded so a hung server
// fails the test instead of the whole run.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// RoundTripFunc adapts a function to http.RoundTripper, for fault injection.
type RoundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f RoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// SentEmail is a raw e-mail the test server's SES sent.
type SentEmail struct {
	Source  string `json:"source"`
	RawData string `json:"raw_data"`
}

// SentEmails lists every e-mail the test server's SES sent. The CI
// server (.ci/moto_serial.py) lists them at /gas-moto/ses/messages; a
// plain moto_server only in /moto-api/data.json, which serialises every
// tracked object (seconds once a CloudFormation stack with EC2 resources
// exists) and fails with a 500 while a deleted S3 object awaits garbage
// collection, so it is retried.
func SentEmails(t testing.TB, endpoint string) []SentEmail {
	t.Helper()
	get := func(path string) (int, []byte) {
		resp, err := http.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	var msgs []SentEmail
	if code, body := get("/gas-moto/ses/messages"); code == http.StatusOK && json.Unmarshal(body, &msgs) == nil {
		return msgs
	}
	var data struct {
		SES struct {
			RawMessage []SentEmail `json:"RawMessage"`
		} `json:"ses"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get("/moto-api/data.json")
		if code == http.StatusOK {
			if err := json.Unmarshal(body, &data); err != nil {
				t.Fatalf("moto data.json: %v", err)
			}
			return data.SES.RawMessage
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto data.json answered %d", code)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
