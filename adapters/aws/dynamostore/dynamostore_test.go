package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// tables creates fresh jobs and users tables on the test server.
func tables(t *testing.T, opts ...awsconfig.Option) (*dynamostore.JobStore, *dynamostore.UserStore) {
	t.Helper()
	env := awstest.New(t, opts...)
	ctx := awstest.Ctx(t)
	for _, spec := range []any{dynamostore.JobsTableSpec(env.Config.Names.JobsTable), dynamostore.UsersTableSpec(env.Config.Names.UsersTable)} {
		if _, err := env.Clients.DynamoDB.CreateTable(ctx, spec.(*dynamodb.CreateTableInput)); err != nil {
			t.Fatal(err)
		}
	}
	js, err := dynamostore.NewJobStore(env.Clients.DynamoDB, env.Config.Names.JobsTable)
	if err != nil {
		t.Fatal(err)
	}
	us, err := dynamostore.NewUserStore(env.Clients.DynamoDB, env.Config.Names.UsersTable)
	if err != nil {
		t.Fatal(err)
	}
	return js, us
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func newJob(t *testing.T, id string, owner domain.UserID, at time.Time) *domain.Job {
	t.Helper()
	j, err := domain.NewJob(domain.JobID(id), owner, "in.vcf", "inputs/"+string(owner)+"/"+id+"/input", 42, at)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJobRoundTripAndConditionalUpdate(t *testing.T) {
	js, _ := tables(t)
	ctx := awstest.Ctx(t)
	j := newJob(t, "j1", "alice", t0)
	if err := js.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := js.Create(ctx, j); !errors.Is(err, ports.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	got, err := js.Get(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Snapshot(), j.Snapshot()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got.Snapshot(), j.Snapshot())
	}
	if err := got.Claim(t0.Add(time.Second), time.Minute, 3); err != nil {
		t.Fatal(err)
	}
	running, err := js.Update(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if running.Version() != 1 || running.Status() != domain.StatusRunning {
		t.Fatalf("after update: version %d status %s", running.Version(), running.Status())
	}
	if _, err := js.Update(ctx, got); !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if err := running.Complete(t0.Add(time.Minute), domain.ResultKeys{VCF: "results/j1.vcf", Index: "i", Summary: "s", Log: "l"}, "grch38", domain.Counts{}); err != nil {
		t.Fatal(err)
	}
	done, err := js.Update(ctx, running)
	if err != nil {
		t.Fatal(err)
	}
	reread, err := js.Get(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reread.Snapshot(), done.Snapshot()) {
		t.Fatalf("completed round trip:\n got %+v\nwant %+v", reread.Snapshot(), done.Snapshot())
	}
	if _, err := js.Get(ctx, "nope"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := js.Update(ctx, newJob(t, "nope", "alice", t0)); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("update missing: %v, want ErrNotFound", err)
	}
}

// TestConditionalCheckRace: two annotators claim the same job at once;
// DynamoDB's conditional write lets exactly one win, the other backs off
// with ErrConflict.
func TestConditionalCheckRace(t *testing.T) {
	js, _ := tables(t)
	ctx := awstest.Ctx(t)
	for round := range 5 {
		id := fmt.Sprintf("race-%d", round)
		if err := js.Create(ctx, newJob(t, id, "bob", t0)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for w := range 2 {
			j, err := js.Get(ctx, domain.JobID(id))
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Claim(t0, time.Minute, 3); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[w] = js.Update(ctx, j)
			}()
		}
		close(start)
		wg.Wait()
		wins, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ports.ErrConflict):
				conflicts++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if wins != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d wins, %d conflicts; want exactly one of each", round, wins, conflicts)
		}
		j, _ := js.Get(ctx, domain.JobID(id))
		if j.Version() != 1 || j.Attempts() != 1 {
			t.Fatalf("round %d: version %d attempts %d, want 1 and 1", round, j.Version(), j.Attempts())
		}
	}
}

func TestListNewestFirstWithCursor(t *testing.T) {
	js, _ := tables(t)
	ctx := awstest.Ctx(t)
	var want []domain.JobID
	for i := range 7 {
		at := t0.Add(time.Duration(i/2) * time.Second) // pairs share a time: ties order by id desc
		id := fmt.Sprintf("job-%02d", i)
		if err := js.Create(ctx, newJob(t, id, "carol", at)); err != nil {
			t.Fatal(err)
		}
		want = append([]domain.JobID{domain.JobID(id)}, want...)
	}
	if err := js.Create(ctx, newJob(t, "other", "dave", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	var got []domain.JobID
	cur := ""
	pages := 0
	for {
		page, next, err := js.ListByUser(ctx, "carol", cur, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range page {
			got = append(got, j.ID())
		}
		if next == "" {
			break
		}
		cur = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("pages %d, ids %v; want 3 pages of %v", pages, got, want)
	}
	if _, _, err := js.ListByUser(ctx, "dave", cur, 3); !errors.Is(err, dynamostore.ErrBadCursor) {
		t.Fatalf("another user's cursor: %v, want ErrBadCursor", err)
	}
	if _, _, err := js.ListByUser(ctx, "carol", "!!", 3); !errors.Is(err, dynamostore.ErrBadCursor) {
		t.Fatalf("garbage cursor: %v, want ErrBadCursor", err)
	}
}

func TestListByStorage(t *testing.T) {
	js, _ := tables(t)
	ctx := awstest.Ctx(t)
	for i, archived := range []bool{true, false, true} {
		j := newJob(t, fmt.Sprintf("s%d", i), "erin", t0.Add(time.Duration(i)*time.Minute))
		if err := js.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		must(t, j.Claim(t0, time.Minute, 3))
		j = update(t, js, j)
		must(t, j.Complete(t0, domain.ResultKeys{VCF: "v"}, "ref", domain.Counts{}))
		j = update(t, js, j)
		if archived {
			must(t, j.Archived("archive/"+string(j.ID())))
			update(t, js, j)
		}
	}
	if err := js.Create(ctx, newJob(t, "pending", "erin", t0)); err != nil {
		t.Fatal(err)
	}
	got, err := js.ListByStorage(ctx, "erin", domain.StorageArchived)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID() != "s2" || got[1].ID() != "s0" {
		t.Fatalf("archived = %v, want [s2 s0]", ids(got))
	}
	avail, err := js.ListByStorage(ctx, "erin", domain.StorageAvailable)
	if err != nil || len(avail) != 1 || avail[0].ID() != "s1" {
		t.Fatalf("available = %v, %v; want [s1]", ids(avail), err)
	}
}

func TestUsers(t *testing.T) {
	_, us := tables(t)
	ctx := awstest.Ctx(t)
	if _, err := us.Get(ctx, "nobody"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	u, err := domain.NewUser("u1", "Ada", "ada@example.org", "Analytical", t0)
	if err != nil {
		t.Fatal(err)
	}
	must(t, us.Create(ctx, u))
	must(t, u.Upgrade(t0.Add(time.Hour)))
	u, err = us.Update(ctx, u)
	must(t, err)
	got, err := us.Get(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Snapshot() != u.Snapshot() {
		t.Fatalf("user round trip:\n got %+v\nwant %+v", got.Snapshot(), u.Snapshot())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, js *dynamostore.JobStore, j *domain.Job) *domain.Job {
	t.Helper()
	out, err := js.Update(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(js []*domain.Job) []domain.JobID {
	var out []domain.JobID
	for _, j := range js {
		out = append(out, j.ID())
	}
	return out
}
