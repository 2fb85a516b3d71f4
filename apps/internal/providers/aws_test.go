package providers

import (
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/ports"
)

type awsWallClock struct{}

func (awsWallClock) Now() time.Time { return time.Now() }

// TestAWSProvidersOnBootstrappedDeployment builds every AWS provider from
// the environment variables a role would get, against a deployment made
// by bootstrap, and sends one message through the job-requests topic to
// the annotate queue.
func TestAWSProvidersOnBootstrappedDeployment(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	t.Setenv("GAS_AWS_ENDPOINT", env.Config.Endpoint)
	t.Setenv("GAS_AWS_PREFIX", env.Config.Prefix)
	t.Setenv("GAS_MAIL_FROM", "gas@example.org")
	c, err := AWSConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !c.PathStyle || c.Names != env.Config.Names {
		t.Fatalf("config from env %+v does not name the bootstrapped deployment", c)
	}
	cl, cleanup, err := AWSClients(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if _, err := AWSJobStore(cl, c); err != nil {
		t.Fatal(err)
	}
	if _, err := AWSUserStore(cl, c); err != nil {
		t.Fatal(err)
	}
	// The bootstrapped tokens table takes and finds a token.
	tokens, err := AWSTokenStore(cl, c)
	if err != nil {
		t.Fatal(err)
	}
	tok := ports.APIToken{ID: "t1", User: "u1", Name: "ci", Hash: strings.Repeat("ab", 32), CreatedAt: time.Now()}
	if err := tokens.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := tokens.ByHash(ctx, tok.Hash); err != nil || got.User != "u1" {
		t.Fatalf("token from the bootstrapped table: %+v, %v", got, err)
	}
	objects, err := AWSObjectStore(cl, c)
	if err != nil {
		t.Fatal(err)
	}
	if s := objects.(*s3store.Store); s.Bucket(InputPrefix+"u/j/input") != c.Names.InputsBucket || s.Bucket("results/u/j/x") != c.Names.ResultsBucket {
		t.Fatalf("object routing: inputs -> %s, results -> %s", s.Bucket(InputPrefix+"u/j/input"), s.Bucket("results/u/j/x"))
	}
	archive, err := AWSArchive(ctx, cl, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := archive.(*coldstore.S3Glacier); !ok {
		t.Fatalf("default archive is %T, want S3 Glacier storage class", archive)
	}
	vc := c
	vc.ColdStorage = awsconfig.ColdVault
	if a, err := AWSArchive(ctx, cl, vc); err != nil {
		t.Fatal(err)
	} else if _, ok := a.(*coldstore.Vault); !ok {
		t.Fatalf("vault archive is %T", a)
	}
	if _, err := AWSMailer(cl, c); err != nil {
		t.Fatal(err)
	}
	m, err := AWSMessages(ctx, cl, c, awsWallClock{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Queues.DeadLetters) != 5 {
		t.Fatalf("%d dead-letter queues, want 5", len(m.Queues.DeadLetters))
	}
	if err := m.Topics.JobRequests.Publish(ctx, []byte(`{"kind":"job-request","job_id":"j1","user_id":"u1"}`)); err != nil {
		t.Fatal(err)
	}
	ms, err := m.Queues.Annotate.Receive(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(ms) != 1 || !strings.Contains(string(ms[0].Body), `"j1"`) {
		t.Fatalf("annotate queue got %v, %v", ms, err)
	}
	if !strings.Contains(DescribeAWS(c), "prefix="+c.Prefix) {
		t.Fatalf("DescribeAWS = %q", DescribeAWS(c))
	}
	// A missing queue fails at start, not on the first message.
	bad := c
	bad.Names.ThawQueue = "missing-" + awstest.Unique()
	if _, err := AWSMessages(ctx, cl, bad, awsWallClock{}); err == nil {
		t.Fatal("AWSMessages resolved a queue that does not exist")
	}
}
