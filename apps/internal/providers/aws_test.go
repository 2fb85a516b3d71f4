package providers

import (
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

type awsWallClock struct{}

func (awsWallClock) Now() time.Time { return time.Now() }

// TestAWSProvidersOnBootstrappedDeployment builds every AWS provider from
// the environment variables a role would get, against a deployment made
// by bootstrap, sends one message through the job-results topic to the
// notify queue and one annotation request, in its user's group, to the
// annotate queue.
func TestAWSProvidersOnBootstrappedDeployment(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	t.Setenv("GAS_AWS_ENDPOINT", env.Config.Endpoint)
	t.Setenv("GAS_AWS_PREFIX", env.Config.Prefix)
	t.Setenv("GAS_MAIL_FROM", "gas@example.org")
	c, err := awsconfig.FromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PathStyle || !reflect.DeepEqual(c.Names, env.Config.Names) {
		t.Fatalf("config from env %+v does not name the bootstrapped deployment", c)
	}
	cl, cleanup, err := newAWSClients(ctx, c)
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
	settings := Settings{}.withDefaults()
	objects, err := AWSObjectStore(cl, c, settings)
	if err != nil {
		t.Fatal(err)
	}
	input := jobs.InputKey(settings.InputPrefix, "u", "j")
	if s := objects.(*s3store.Store); s.Bucket(input) != c.Names.InputsBucket || s.Bucket("results/u/j/x") != c.Names.ResultsBucket {
		t.Fatalf("object routing: inputs -> %s, results -> %s", s.Bucket(input), s.Bucket("results/u/j/x"))
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
	bus, err := AWSMessages(ctx, cl, c, awsWallClock{}, settings)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range c.Topology().Queues {
		if bus.Queue(q.Name) == nil || bus.DeadLetter(q.Name) == nil {
			t.Fatalf("queue %s or its dead-letter queue missing", q.Name)
		}
	}
	if _, ok := bus.Queue(message.QueueRestore).(*coldstore.NoticeQueue); !ok {
		t.Fatalf("restore queue is %T, want cold-storage notices translated", bus.Queue(message.QueueRestore))
	}
	// Raw notices that dead-letter are translated too, not dropped as malformed.
	if _, ok := bus.DeadLetter(message.QueueRestore).(*coldstore.NoticeQueue); !ok {
		t.Fatalf("restore dead-letter queue is %T, want cold-storage notices translated", bus.DeadLetter(message.QueueRestore))
	}
	if bus.Parked() == nil {
		t.Fatal("no parked queue")
	}
	if err := message.Publish(ctx, bus.Topic(message.TopicJobResults), message.JobResult("j1", "u1")); err != nil {
		t.Fatal(err)
	}
	ms, err := bus.Queue(message.QueueNotify).Receive(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(ms) != 1 || !strings.Contains(string(ms[0].Body), `"j1"`) {
		t.Fatalf("notify queue got %v, %v", ms, err)
	}
	if err := message.Schedule(ctx, bus.Queue(message.QueueAnnotate), message.JobRequest("j2", "u2"), time.Now()); err != nil {
		t.Fatal(err)
	}
	ms, err = bus.Queue(message.QueueAnnotate).Receive(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(ms) != 1 || !strings.Contains(string(ms[0].Body), `"j2"`) || ms[0].Group != "u2" {
		t.Fatalf("annotate queue got %+v, %v; want j2 in group u2", ms, err)
	}
	// A missing queue fails at start, not on the first message.
	bad := c
	bad.Names.Queues = maps.Clone(c.Names.Queues)
	bad.Names.Queues[message.QueueThaw] = "missing-" + awstest.Unique()
	if _, err := AWSMessages(ctx, cl, bad, awsWallClock{}, settings); err == nil {
		t.Fatal("AWSMessages resolved a queue that does not exist")
	}
}
