package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/ports"
)

func fakeQueue(t *testing.T, opts ...memory.QueueOption) (*memory.Queue, *memory.FakeClock) {
	t.Helper()
	c := memory.NewFakeClock(time.Time{})
	q, err := memory.NewQueue("q", c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q, c
}

func receiveN(t *testing.T, q ports.Queue, vis time.Duration) []ports.Message {
	t.Helper()
	ms, err := q.Receive(context.Background(), 10, vis, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestQueueDelayIsExactOnFakeClock(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("archive job j1"), Delay: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	c.Advance(5*time.Minute - time.Nanosecond)
	if ms := receiveN(t, q, time.Minute); len(ms) != 0 {
		t.Fatalf("delayed message visible 1ns early")
	}
	c.Advance(time.Nanosecond)
	if ms := receiveN(t, q, time.Minute); len(ms) != 1 || ms[0].Receives != 1 {
		t.Fatalf("delayed message not visible when due: %v", ms)
	}
}

func TestQueueClampsDelayLikeSQS(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("far future"), Delay: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	c.Advance(memory.SQSMaxDelay)
	if ms := receiveN(t, q, time.Minute); len(ms) != 1 {
		t.Fatalf("a 2 h delay was not clamped to SQS's 15 min: %d messages", len(ms))
	}

	if err := q.Send(ctx, ports.Outgoing{Body: nil, Delay: -time.Second}); err == nil {
		t.Fatalf("negative delay accepted")
	}
}

func TestQueueVisibilityIsExactOnFakeClock(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("run job")}); err != nil {
		t.Fatal(err)
	}
	first := receiveN(t, q, 30*time.Second)
	if len(first) != 1 {
		t.Fatal("not delivered")
	}
	c.Advance(30*time.Second - time.Nanosecond)
	if ms := receiveN(t, q, 30*time.Second); len(ms) != 0 {
		t.Fatalf("redelivered before the visibility timeout")
	}
	// The first receiver extends just in time.
	if err := q.ExtendVisibility(ctx, first[0].Receipt, time.Minute); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute - time.Nanosecond)
	if ms := receiveN(t, q, 30*time.Second); len(ms) != 0 {
		t.Fatalf("redelivered during the extension")
	}
	c.Advance(time.Nanosecond)
	second := receiveN(t, q, 30*time.Second)
	if len(second) != 1 || second[0].Receives != 2 || second[0].ID != first[0].ID {
		t.Fatalf("redelivery %v", second)
	}
	// The first delivery's receipt is stale now: it may not extend.
	if err := q.ExtendVisibility(ctx, first[0].Receipt, time.Minute); !errors.Is(err, memory.ErrStaleReceipt) {
		t.Fatalf("stale extend: got %v, want ErrStaleReceipt", err)
	}
	// An expired delivery cannot be extended either.
	c.Advance(30 * time.Second)
	if err := q.ExtendVisibility(ctx, second[0].Receipt, time.Minute); !errors.Is(err, memory.ErrStaleReceipt) {
		t.Fatalf("extend after expiry: got %v, want ErrStaleReceipt", err)
	}
	// But a late acknowledgement with any receipt of the message deletes it (as SQS may).
	if err := q.Delete(ctx, first[0].Receipt); err != nil {
		t.Fatal(err)
	}
	if s, _ := q.Stats(ctx); s != (ports.QueueStats{}) {
		t.Fatalf("stats after delete %+v", s)
	}
}

func TestQueueLongPollWakesWhenDelayPassesOnFakeClock(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("soon"), Delay: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []ports.Message, 1)
	go func() {
		ms, _ := q.Receive(ctx, 1, time.Minute, 20*time.Second)
		got <- ms
	}()
	waitPending(t, c, 1)
	c.Advance(10 * time.Second)
	select {
	case ms := <-got:
		if len(ms) != 1 || string(ms[0].Body) != "soon" {
			t.Fatalf("long poll returned %v", ms)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("long poll not woken when the delay passed on the fake clock")
	}
	// A poll whose wait ends on the fake clock returns empty.
	go func() {
		ms, _ := q.Receive(ctx, 1, time.Minute, 20*time.Second)
		got <- ms
	}()
	waitPending(t, c, 1)
	c.Advance(20 * time.Second)
	select {
	case ms := <-got:
		if len(ms) != 0 {
			t.Fatalf("expired long poll returned %v", ms)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("long poll did not end when its wait passed on the fake clock")
	}
	if c.Pending() != 0 {
		t.Fatalf("finished receives left %d alarms behind", c.Pending())
	}
}

func waitPending(t *testing.T, c *memory.FakeClock, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no receiver blocked on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestQueueCapsAHoldAtTwelveHours: like SQS, a delivery can be kept hidden
// at most 12 hours from its receipt; an extension past that fails and the
// message reappears, so a worker holding it longer must hand it over.
func TestQueueCapsAHoldAtTwelveHours(t *testing.T) {
	q, c := fakeQueue(t)
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("long job")}); err != nil {
		t.Fatal(err)
	}
	m := receiveN(t, q, 2*time.Hour)[0]
	for range 10 {
		c.Advance(time.Hour)
		if err := q.ExtendVisibility(ctx, m.Receipt, 2*time.Hour); err != nil {
			t.Fatalf("extension within 12 hours: %v", err)
		}
	}
	c.Advance(30 * time.Minute) // 10.5 h after the receipt, hidden until 12 h
	if err := q.ExtendVisibility(ctx, m.Receipt, 2*time.Hour); !errors.Is(err, memory.ErrHoldCap) {
		t.Fatalf("extension past 12 hours from receipt: %v, want ErrHoldCap", err)
	}
	c.Advance(90 * time.Minute)
	if again := receiveN(t, q, time.Minute); len(again) != 1 || again[0].Receives != 2 {
		t.Fatalf("after 12 hours the message should be delivered again: %+v", again)
	}
}

func TestQueueDeadLetterKeepsReceiveCount(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	dlq, err := memory.NewQueue("dlq", c)
	if err != nil {
		t.Fatal(err)
	}
	q, err := memory.NewQueue("q", c, memory.WithDeadLetter(dlq, 5))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		ms := receiveN(t, q, time.Second)
		if len(ms) != 1 || ms[0].Receives != i {
			t.Fatalf("delivery %d: %v", i, ms)
		}
		c.Advance(time.Second)
	}
	if ms := receiveN(t, q, time.Second); len(ms) != 0 {
		t.Fatalf("sixth delivery happened")
	}
	dead := receiveN(t, dlq, time.Second)
	if len(dead) != 1 || dead[0].Receives != 6 || string(dead[0].Body) != "poison" {
		t.Fatalf("dead letter %+v, want the message with its receive count continuing (6)", dead)
	}
}

func TestQueueOptionsRejectInvalid(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	if _, err := memory.NewQueue("", c); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := memory.NewQueue("q", nil); err == nil {
		t.Error("nil clock accepted")
	}
	if _, err := memory.NewQueue("q", c, memory.WithDeadLetter(nil, 5)); err == nil {
		t.Error("nil dead-letter queue accepted")
	}
	dlq, _ := memory.NewQueue("dlq", c)
	if _, err := memory.NewQueue("q", c, memory.WithDeadLetter(dlq, 0)); err == nil {
		t.Error("maxReceives 0 accepted")
	}
}

func TestQueueReceiveClampsBatch(t *testing.T) {
	q, _ := fakeQueue(t)
	ctx := context.Background()
	for range 15 {
		if err := q.Send(ctx, ports.Outgoing{Body: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := q.Receive(ctx, 50, time.Minute, 0)
	if err != nil || len(ms) != memory.MaxReceiveBatch {
		t.Fatalf("Receive(50) returned %d, want %d like SQS", len(ms), memory.MaxReceiveBatch)
	}
	ms, err = q.Receive(ctx, 0, time.Minute, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Receive(0) returned %d, want 1", len(ms))
	}
}

func TestTopicFansOutAndReportsFailures(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	a, _ := memory.NewQueue("a", c)
	b, _ := memory.NewQueue("b", c)
	topic, err := memory.NewTopic("job-results", a, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := topic.Publish(ctx, []byte("done")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*memory.Queue{a, b} {
		if ms := receiveN(t, q, time.Minute); len(ms) != 1 || string(ms[0].Body) != "done" {
			t.Fatalf("%s got %v", q.Name(), ms)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := topic.Publish(cancelled, []byte("x")); err == nil {
		t.Fatalf("publish with a cancelled context reported success")
	}
}
