package providers

import (
	"context"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

func TestMemoryTopologyAndServices(t *testing.T) {
	ctx := context.Background()
	clock := memory.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m, err := MemoryMessages(clock)
	if err != nil {
		t.Fatal(err)
	}
	// The topology's topics reach their queues (wiring tested in adapters/memory).
	if err := message.Publish(ctx, m.Topic(message.TopicJobResults), message.JobResult("j", "u")); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Queue(message.QueueNotify).Stats(ctx); st.Visible != 1 {
		t.Fatalf("job result did not reach the notify queue: %+v", st)
	}

	store := MemoryJobStore()
	users := MemoryUserStore()
	objects, err := MemoryObjectStore()
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
	arch, cleanup, err := MemoryArchive(clock, m, LocalOptions{ExpeditedRestore: time.Second, StandardRestore: time.Minute}, s)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	id, err := arch.Put(ctx, "archive/u1/job42/abcd.tar", stringsReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	restore := m.Queue(message.QueueRestore)
	before, _ := restore.Stats(ctx)
	if _, err := retrievalID(arch.InitiateRestore(ctx, id, domain.RetrievalExpedited)); err != nil {
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
	ms, err := restore.Receive(ctx, 10, time.Minute, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("restore queue: %v, %v", ms, err)
	}
	if got, err := message.Decode(ms[0].Body); err != nil || got != message.RestoreCompleted("job42") {
		t.Fatalf("restore completion %+v, %v; want one for job42", got, err)
	}
}

// retrievalID keeps only the id of a started retrieval.
func retrievalID(r ports.Retrieval, err error) (string, error) { return r.ID, err }
