package memory_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func TestArchiveRetrievalTakesTierTimeOnFakeClock(t *testing.T) {
	clock := memory.NewFakeClock(time.Time{})
	var mu sync.Mutex
	var done []memory.RestoreCompletion
	a, err := memory.NewArchive(clock,
		memory.WithRetrievalTimes(5*time.Minute, 5*time.Hour),
		memory.WithRestoreCallback(func(ctx context.Context, c memory.RestoreCompletion) error {
			mu.Lock()
			defer mu.Unlock()
			done = append(done, c)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	id, err := a.Put(ctx, "archive/j1.tar", strings.NewReader("bundle"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	if err != nil {
		t.Fatal(err)
	}
	std, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalStandard))
	if err != nil {
		t.Fatal(err)
	}
	status := func(rid string) ports.RestoreStatus {
		st, err := a.RestoreStatus(ctx, rid)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	clock.Advance(5*time.Minute - time.Nanosecond)
	if status(exp).Done || len(done) != 0 {
		t.Fatalf("Expedited done early")
	}
	if _, err := a.OpenRestored(ctx, exp); !errors.Is(err, memory.ErrRestoreInProgress) {
		t.Fatalf("open before done: %v, want ErrRestoreInProgress", err)
	}
	clock.Advance(time.Nanosecond)
	if st := status(exp); !st.Done || st.Tier != domain.RetrievalExpedited {
		t.Fatalf("Expedited after 5 min: %+v", st)
	}
	mu.Lock()
	if len(done) != 1 || done[0] != (memory.RestoreCompletion{RetrievalID: exp, ArchiveID: id, Tier: domain.RetrievalExpedited}) {
		t.Fatalf("completion callbacks %+v, want Expedited's, synchronously on Advance", done)
	}
	mu.Unlock()
	if status(std).Done {
		t.Fatalf("Standard done after 5 min")
	}
	clock.Advance(5*time.Hour - 5*time.Minute)
	if !status(std).Done || len(done) != 2 {
		t.Fatalf("Standard not done after 5 h (callbacks %d)", len(done))
	}
	rc, err := a.OpenRestored(ctx, std)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "bundle" {
		t.Fatalf("restored %q", b)
	}
	// Once the archive copy is deleted the retrieval has nothing to read.
	if err := a.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.OpenRestored(ctx, std); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
}

func TestArchiveCloseCancelsCallbacks(t *testing.T) {
	clock := memory.NewFakeClock(time.Time{})
	called := false
	a, _ := memory.NewArchive(clock, memory.WithRetrievalTimes(time.Minute, time.Hour),
		memory.WithRestoreCallback(func(context.Context, memory.RestoreCompletion) error { called = true; return nil }))
	ctx := context.Background()
	id, _ := a.Put(ctx, "k", strings.NewReader("x"))
	if _, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalStandard)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	clock.Advance(2 * time.Hour)
	if called || clock.Pending() != 0 {
		t.Fatalf("callback ran after Close (pending alarms %d)", clock.Pending())
	}
	if _, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalStandard)); err == nil {
		t.Fatalf("restore after Close accepted")
	}
}

func TestArchivePublishesCompletionThroughTopic(t *testing.T) {
	// The wiring turns completions into restore-completion messages; a
	// failing callback is only logged, and polling still sees completion.
	clock := memory.NewFakeClock(time.Time{})
	q, _ := memory.NewQueue("restore", clock)
	topic, _ := memory.NewTopic("restore-completions", q)
	fail := true
	a, _ := memory.NewArchive(clock, memory.WithRetrievalTimes(time.Minute, time.Hour),
		memory.WithRestoreCallback(func(ctx context.Context, c memory.RestoreCompletion) error {
			if fail {
				return errors.New("topic down")
			}
			return topic.Publish(ctx, []byte(c.RetrievalID))
		}))
	defer a.Close()
	ctx := context.Background()
	id, _ := a.Put(ctx, "k", strings.NewReader("x"))
	r1, _ := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	clock.Advance(time.Minute)
	if st, _ := a.RestoreStatus(ctx, r1); !st.Done {
		t.Fatalf("not done by polling")
	}
	fail = false
	r2, _ := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	clock.Advance(time.Minute)
	ms, err := q.Receive(ctx, 10, time.Minute, 0)
	if err != nil || len(ms) != 1 || string(ms[0].Body) != r2 {
		t.Fatalf("restore-completions queue holds %v, %v; want only %s", ms, err, r2)
	}
}

func TestArchiveRejectsBadInput(t *testing.T) {
	clock := memory.NewFakeClock(time.Time{})
	a, _ := memory.NewArchive(clock)
	ctx := context.Background()
	id, _ := a.Put(ctx, "k", strings.NewReader("x"))
	if _, err := retrievalID(a.InitiateRestore(ctx, id, domain.TierNone)); err == nil {
		t.Errorf("restore without a tier accepted")
	}
	if _, err := a.Put(ctx, "", strings.NewReader("x")); err == nil {
		t.Errorf("empty archive key accepted")
	}
	if _, err := memory.NewArchive(nil); err == nil {
		t.Errorf("nil clock accepted")
	}
	if _, err := memory.NewArchive(clock, memory.WithRetrievalTimes(-1, 0)); err == nil {
		t.Errorf("negative retrieval time accepted")
	}
}

// retrievalID keeps only the id of a started retrieval.
func retrievalID(r ports.Retrieval, err error) (string, error) { return r.ID, err }
