package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func TestSecondOpenIsRefusedWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gas.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(t.Context(), path)
	if !errors.Is(err, sqlite.ErrLocked) || !strings.Contains(err.Error(), "process") {
		t.Fatalf("second open: got %v, want ErrLocked naming the holder", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	again.Close()
}

// TestLockIsReleasedWhenTheHolderIsKilled runs a process that opens the
// database and is killed with SIGKILL: the kernel drops its lock, so the
// next start opens the database without anyone cleaning up.
func TestLockIsReleasedWhenTheHolderIsKilled(t *testing.T) {
	if os.Getenv("GAS_SQLITE_HOLD") != "" {
		db, err := sqlite.Open(context.Background(), os.Getenv("GAS_SQLITE_HOLD"))
		if err != nil {
			os.Exit(3)
		}
		defer db.Close()
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		return
	}
	path := filepath.Join(t.TempDir(), "gas.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockIsReleasedWhenTheHolderIsKilled$")
	cmd.Env = append(os.Environ(), "GAS_SQLITE_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("holder did not lock: %q %v", buf, err)
	}
	if _, err := sqlite.Open(t.Context(), path); !errors.Is(err, sqlite.ErrLocked) {
		t.Fatalf("open while another process holds it: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open after the holder was killed: %v", err)
	}
	db.Close()
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gas.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := sqlite.Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a newer schema: got %v, want a refusal", err)
	}
}

// TestQueueSurvivesReopen: messages, their receive counts, delays and
// dead letters are in the file; a reopened database has them all, and
// ReleaseInFlight hands back what the dead process had received.
func TestQueueSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gas.db")
	clock := memory.NewFakeClock(time.Time{})
	open := func() (*sqlite.DB, *sqlite.Queue, *sqlite.Queue) {
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		dlq := must[*sqlite.Queue](t)(sqlite.NewQueue(db, "work-dlq", clock))
		q := must[*sqlite.Queue](t)(sqlite.NewQueue(db, "work", clock, sqlite.WithDeadLetter(dlq, 2)))
		return db, q, dlq
	}
	ctx := t.Context()
	db, q, _ := open()
	for _, b := range []string{"in flight", "queued"} {
		if err := q.Send(ctx, ports.Outgoing{Body: []byte(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("archive later"), Delay: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	ms, err := q.Receive(ctx, 1, time.Hour, 0)
	if err != nil || len(ms) != 1 || string(ms[0].Body) != "in flight" {
		t.Fatalf("receive: %v %v", ms, err)
	}
	db.Close()

	db, q, _ = open()
	defer db.Close()
	if n, err := q.ReleaseInFlight(ctx); err != nil || n != 1 {
		t.Fatalf("ReleaseInFlight: %d, %v; want 1", n, err)
	}
	ms, err = q.Receive(ctx, 10, time.Hour, 0)
	if err != nil || len(ms) != 2 || string(ms[0].Body) != "in flight" || ms[0].Receives != 2 || string(ms[1].Body) != "queued" {
		t.Fatalf("after reopen got %+v, %v; want the released message on its second delivery, then the queued one", ms, err)
	}
	clock.Advance(10 * time.Minute)
	ms, err = q.Receive(ctx, 10, time.Hour, 0)
	if err != nil || len(ms) != 1 || string(ms[0].Body) != "archive later" {
		t.Fatalf("delayed message after reopen: %+v, %v", ms, err)
	}
}

func TestBackupIsAnOpenableCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gas.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := domain.NewUser("ada", "Ada", "ada@example.org", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.NewUserStore(db).Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "backup", "gas.db")
	os.MkdirAll(filepath.Dir(out), 0o700)
	if err := sqlite.Backup(t.Context(), path, out); err != nil {
		t.Fatalf("backup while the database is open: %v", err)
	}
	if err := sqlite.Backup(t.Context(), path, out); !errors.Is(err, os.ErrExist) {
		t.Fatalf("backup over an existing file: %v", err)
	}
	copyDB, err := sqlite.Open(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if got, err := sqlite.NewUserStore(copyDB).Get(t.Context(), "ada"); err != nil || got.Email() != "ada@example.org" {
		t.Fatalf("user in the backup: %v, %v", got, err)
	}
}

// TestConcurrentWritesCommitTogetherYetFailAlone: writes from many
// goroutines share commits (group commit), but one that fails is undone
// alone — its neighbours in the batch are stored — and a write whose
// caller gave up is not made.
func TestConcurrentWritesCommitTogetherYetFailAlone(t *testing.T) {
	db := openDB(t)
	users := sqlite.NewUserStore(db)
	ctx := t.Context()
	newUser := func(id string) *domain.User {
		u, err := domain.NewUser(domain.UserID(id), "N", id+"@example.org", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if err := users.Create(ctx, newUser("taken")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() {
			id := fmt.Sprintf("u%03d", i)
			if i%5 == 0 {
				id = "taken"
			}
			errs[i] = users.Create(ctx, newUser(id))
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, getErr := users.Get(ctx, domain.UserID(fmt.Sprintf("u%03d", i)))
		switch {
		case i%5 == 0 && !errors.Is(err, ports.ErrExists):
			t.Errorf("duplicate %d: %v, want ErrExists", i, err)
		case i%5 != 0 && (err != nil || getErr != nil):
			t.Errorf("user %d: create %v, get %v", i, err, getErr)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := users.Create(cancelled, newUser("late")); err == nil {
		t.Fatal("a write with a cancelled context was made")
	}
	if _, err := users.Get(ctx, "late"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("cancelled write stored: %v", err)
	}
}

// Reads run without their context's cancellation (watching it cost more
// than the read), so one whose context has already ended must still stop
// with the context's error rather than run.
func TestReadsRefuseAnEndedContext(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobs := sqlite.NewJobStore(db)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := jobs.Get(ctx, "j1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := jobs.Get(t.Context(), "j1"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("get with a live context: got %v, want ErrNotFound", err)
	}
}
