package providers

import (
	"context"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports/message"
)

func TestMemoryTopologyAndServices(t *testing.T) {
	ctx := context.Background()
	clock := memory.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m, err := MemoryMessages(clock, MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Each topic reaches its queue; each queue has its own dead-letter queue.
	for _, c := range []struct {
		name  string
		pub   func() error
		queue string
	}{
		{"job-requests", func() error { return message.Publish(ctx, m.Topics.JobRequests, message.JobRequest("j", "u")) }, "annotate"},
		{"job-results", func() error { return message.Publish(ctx, m.Topics.JobResults, message.JobResult("j", "u")) }, "notify"},
		{"thaw-requests", func() error { return message.Publish(ctx, m.Topics.ThawRequests, message.ThawUser("u")) }, "thaw"},
		{"restore-completions", func() error { return message.Publish(ctx, m.Topics.RestoreCompletions, message.RestoreCompleted("j")) }, "restore"},
	} {
		if err := c.pub(); err != nil {
			t.Fatal(err)
		}
		q := map[string]*memory.Queue{"annotate": m.Queues.Annotate.(*memory.Queue), "notify": m.Queues.Notify.(*memory.Queue),
			"thaw": m.Queues.Thaw.(*memory.Queue), "restore": m.Queues.Restore.(*memory.Queue)}[c.queue]
		if st, _ := q.Stats(ctx); st.Visible != 1 {
			t.Fatalf("%s did not reach %s: %+v", c.name, c.queue, st)
		}
	}
	seen := map[any]bool{}
	for _, q := range []any{m.Queues.Annotate, m.Queues.Notify, m.Queues.Thaw, m.Queues.Restore, m.Queues.Archive} {
		dlq := m.Queues.DeadLetters[q.(*memory.Queue)]
		if dlq == nil || seen[dlq] {
			t.Fatal("queue without its own dead-letter queue")
		}
		seen[dlq] = true
	}

	store := MemoryJobStore()
	users := MemoryUserStore()
	objects, err := MemoryObjectStore(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Policy: domain.DefaultPolicy()}
	js, err := JobsService(store, users, objects, m, clock, RandomIDs(), s)
	if err != nil {
		t.Fatal(err)
	}
	acc := AccountsService(users, MemoryBilling(), m, clock, s)
	if _, err := acc.SignIn(ctx, portsIdentity("u1")); err != nil {
		t.Fatal(err)
	}
	j, err := js.Upload(ctx, "u1", "a.vcf", stringsReader("##fileformat=VCFv4.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := store.Counts(ctx)
	if counts[domain.StatusPending] != 1 {
		t.Fatalf("counts %v", counts)
	}
	if _, err := jobs.Mutate(ctx, store, j.ID(), func(j *domain.Job) (bool, error) { return true, j.Cancel(clock.Now()) }); err != nil {
		t.Fatal(err)
	}
	counts, _ = store.Counts(ctx)
	if counts[domain.StatusPending] != 0 || counts[domain.StatusCancelled] != 1 {
		t.Fatalf("counts after cancel %v", counts)
	}

	// The archive's completion callback names the job from the archive key.
	arch, cleanup, err := MemoryArchive(clock, m, MemoryOptions{ExpeditedRestore: time.Second, StandardRestore: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	id, err := arch.Put(ctx, "archive/u1/job42/abcd.tar", stringsReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	restore := m.Queues.Restore.(*memory.Queue)
	before, _ := restore.Stats(ctx)
	if _, err := arch.InitiateRestore(ctx, id, domain.RetrievalExpedited); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, _ := restore.Stats(ctx)
		if st.Visible > before.Visible {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no restore completion published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if job, ok := jobOfArchiveKey("archive/u1/job42/abcd.tar"); !ok || job != "job42" {
		t.Fatalf("job of key: %q %v", job, ok)
	}
	if _, ok := jobOfArchiveKey("nonsense"); ok {
		t.Fatal("job from a key without one")
	}
}
