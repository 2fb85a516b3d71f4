package dynamostore_test

import (
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

// TestLostAnswerOfAConditionalWriteIsRecognised: DynamoDB applies a claim
// but the answer is lost on the way back (a reset connection), so the SDK
// sends the same PutItem again. Its version condition now fails; the write
// token in the condition lets the retry recognise its own write, so the
// claim succeeds once, with one attempt charged, instead of coming back as
// a conflict that Mutate would re-read as a lease held by someone else.
func TestLostAnswerOfAConditionalWriteIsRecognised(t *testing.T) {
	faults := &awsfault.Injector{}
	js, us := tables(t, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(faults)))
	ctx := awstest.Ctx(t)
	j := newJob(t, "lost-answer", "alice", t0)
	must(t, js.Create(ctx, j))

	faults.LoseAnswer(awsfault.Operation("PutItem"), 1)
	now := t0.Add(time.Second)
	claimed, err := jobs.Mutate(ctx, js, j.ID(), func(cur *domain.Job) (bool, error) {
		return true, cur.Claim(now, time.Minute, 3)
	})
	if err != nil {
		t.Fatalf("claim whose first answer was lost: %v", err)
	}
	if faults.Hits() != 1 {
		t.Fatalf("the answer was lost %d times, want 1 (the fault did not fire)", faults.Hits())
	}
	stored, err := js.Get(ctx, j.ID())
	must(t, err)
	if claimed.Version() != 1 || stored.Version() != 1 || stored.Status() != domain.StatusRunning || stored.Attempts() != 1 {
		t.Fatalf("after one claim: returned v%d, stored v%d %s with %d attempts; want v1 RUNNING with 1",
			claimed.Version(), stored.Version(), stored.Status(), stored.Attempts())
	}
	// The token names one write only: a stale writer still conflicts.
	stale := newJob(t, "lost-answer", "alice", t0)
	must(t, stale.Cancel(now))
	if _, err := js.Update(ctx, stale); err == nil {
		t.Fatal("a write at version 0 succeeded over version 1")
	}

	// The same for a profile: an upgrade whose answer was lost.
	u, err := domain.NewUser("bob", "Bob", "bob@example.org", "", t0)
	must(t, err)
	must(t, us.Create(ctx, u))
	must(t, u.Upgrade(now))
	faults.LoseAnswer(awsfault.Operation("PutItem"), 1)
	if _, err := us.Update(ctx, u); err != nil {
		t.Fatalf("upgrade whose first answer was lost: %v", err)
	}
	got, err := us.Get(ctx, "bob")
	must(t, err)
	if !got.Premium() || got.Version() != 1 || faults.Hits() != 2 {
		t.Fatalf("profile after a lost answer: premium %v version %d (faults hit %d)", got.Premium(), got.Version(), faults.Hits())
	}
}
