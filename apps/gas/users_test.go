package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports/message"
)

// gas users lists, grants and revokes against the deployment the GAS_AWS_*
// variables name (DynamoDB and SQS on the test server); a grant also asks
// the thawer for the user's archived results.
func TestUsersCommandOnADeployment(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	t.Setenv("GAS_AWS_ENDPOINT", env.Config.Endpoint)
	t.Setenv("GAS_AWS_PREFIX", env.Config.Prefix)
	store, err := dynamostore.NewUserStore(env.Clients.DynamoDB, env.Config.Names.UsersTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sub-ada", "sub-bob"} {
		u, _ := domain.NewUser(domain.UserID(id), "User "+id, id+"@example.org", "", time.Now())
		if err := store.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := users(ctx, args, &out, usersFromEnv(os.Getenv)); err != nil {
			t.Fatalf("gas users %v: %v", args, err)
		}
		return out.String()
	}
	if out := run("list"); !strings.Contains(out, "sub-ada  FREE") || !strings.Contains(out, "sub-bob@example.org") {
		t.Fatalf("list:\n%s", out)
	}
	if out := run("grant", "sub-ada"); !strings.Contains(out, "sub-ada is PREMIUM") {
		t.Fatalf("grant: %s", out)
	}
	if u, _ := store.Get(ctx, "sub-ada"); !u.Premium() {
		t.Fatal("grant did not make the user premium")
	}
	thaw, err := sqsqueue.Open(ctx, env.Clients.SQS, env.Config.Names.Queue(message.QueueThaw), nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := thaw.Receive(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(ms) != 1 || !strings.Contains(string(ms[0].Body), `"sub-ada"`) {
		t.Fatalf("thaw queue after the grant: %v %v", ms, err)
	}
	if out := run("revoke", "sub-ada"); !strings.Contains(out, "sub-ada is FREE") {
		t.Fatalf("revoke: %s", out)
	}
	if err := users(ctx, []string{"grant"}, &bytes.Buffer{}, usersFromEnv(os.Getenv)); !errors.Is(err, errUsage) {
		t.Fatalf("grant without a user: %v", err)
	}
}
