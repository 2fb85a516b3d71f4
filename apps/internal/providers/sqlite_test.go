package providers

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports/message"
)

// TestSQLiteMessagesResumeWhatACrashLost: at start, a PENDING job without
// its request is requested again, and a premium user whose results are
// ARCHIVED is thawed again; a free user's archive stays archived.
func TestSQLiteMessagesResumeWhatACrashLost(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobs, users := sqlite.NewJobStore(db), sqlite.NewUserStore(db)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, u := range []struct {
		id      domain.UserID
		premium bool
	}{{"pat", true}, {"fay", false}} {
		user, err := domain.NewUser(u.id, "N", string(u.id)+"@example.org", "", at)
		if err != nil {
			t.Fatal(err)
		}
		if u.premium {
			if err := user.Upgrade(at); err != nil {
				t.Fatal(err)
			}
		}
		if err := users.Create(ctx, user); err != nil {
			t.Fatal(err)
		}
		j, err := domain.NewJob(domain.JobID("archived-"+u.id), u.id, "a.vcf", "inputs/a", 10, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []error{j.Claim(at, time.Minute, 3),
			j.Complete(at, domain.ResultKeys{VCF: "r", Index: "i", Summary: "s", Log: "l"}, "ref", domain.Counts{}),
			j.Archived("archive/x")} {
			if step != nil {
				t.Fatal(step)
			}
		}
		if err := jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	lost, err := domain.NewJob("lost", "fay", "b.vcf", "inputs/b", 10, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Create(ctx, lost); err != nil {
		t.Fatal(err)
	}
	bus, err := SQLiteMessages(ctx, db, jobs, users, memory.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	for queue, want := range map[string]message.Body{
		message.QueueAnnotate: message.JobRequest("lost", "fay"),
		message.QueueThaw:     message.ThawUser("pat"),
	} {
		ms, err := bus.Queue(queue).Receive(ctx, 10, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("%s queue holds %d messages, want 1", queue, len(ms))
		}
		got, err := message.Decode(ms[0].Body)
		if err != nil || got.Job != want.Job || got.User != want.User || got.Kind != want.Kind {
			t.Fatalf("%s queue: %+v (%v), want %+v", queue, got, err, want)
		}
	}
}
