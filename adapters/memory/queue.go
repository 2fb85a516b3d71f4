package memory

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gasproject/gas/ports"
)

// Queue limits shared with SQS, so code that runs locally also runs on AWS.
const (
	// MaxReceiveBatch is the most messages one Receive returns (SQS: 10).
	MaxReceiveBatch = 10
	// SQSMaxDelay is the longest delay SQS accepts; longer delays are
	// clamped to it, so local mode exercises the re-delay path the archive
	// scheduler needs on AWS.
	SQSMaxDelay = 15 * time.Minute
	// DefaultVisibility is used when Receive is given no visibility (SQS's
	// queue default).
	DefaultVisibility = 30 * time.Second
	// MaxHold is how long after its receipt a delivery may be kept hidden
	// at most (SQS: 12 hours); a longer extension fails with ErrHoldCap.
	MaxHold = 12 * time.Hour
)

// ErrHoldCap is returned by ExtendVisibility when the delivery would stay
// hidden past MaxHold after it was received, as SQS refuses it: a worker
// holding a message that long must hand it over instead.
var ErrHoldCap = errors.New("visibility would pass 12 hours from receipt")

// ErrStaleReceipt is returned by ExtendVisibility for a delivery that is no
// longer in flight (deleted, expired or redelivered), so a worker learns it
// no longer owns the message.
var ErrStaleReceipt = errors.New("receipt is not for a message in flight")

// Queue is an at-least-once queue with SQS semantics: delayed sends,
// visibility timeouts with redelivery, a receive count per message, and a
// dead-letter queue that takes a message instead of delivering it after it
// was received maxReceives times. All timing is read from the injected
// clock, so a FakeClock drives delays and timeouts in tests.
//
// Messages live in one min-heap ordered by the time they (next) become
// visible, then by send order: visible messages sit at the top in delivery
// order, delayed and in-flight ones below until their time comes. A
// receive takes from the top and re-files each delivery at its visibility
// timeout, a delete or visibility change re-files one message, so every
// operation is O(log n) in the queue's length; nothing scans or sorts the
// whole queue under the lock (only Stats counts it).
type Queue struct {
	name        string
	clock       ports.Clock
	ids         ports.IDs
	dlq         *Queue
	maxReceives int

	mu       sync.Mutex
	seq      uint64
	msgs     byVisibility       // every live message
	receipts map[string]*queued // every receipt ever issued for a live message
	wake     chan struct{}      // closed and replaced whenever a message may have become receivable
}

type queued struct {
	id        string
	body      []byte
	group     string
	seq       uint64
	visibleAt time.Time
	receives  int
	receipt   string // current delivery's receipt ("" before the first)
	received  time.Time
	receipts  []string
	index     int // position in the heap; -1 once removed
}

// byVisibility is a container/heap of messages ordered by visibleAt, then
// seq: the order in which they are (or will be) receivable.
type byVisibility []*queued

func (h byVisibility) Len() int { return len(h) }

func (h byVisibility) Less(i, j int) bool {
	if c := h[i].visibleAt.Compare(h[j].visibleAt); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}

func (h byVisibility) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *byVisibility) Push(x any) {
	m := x.(*queued)
	m.index = len(*h)
	*h = append(*h, m)
}

func (h *byVisibility) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	m.index = -1
	*h = old[:len(old)-1]
	return m
}

// QueueOption configures a Queue.
type QueueOption func(*Queue) error

// WithDeadLetter sends a message to dlq instead of delivering it a
// (maxReceives+1)th time, like an SQS redrive policy.
func WithDeadLetter(dlq *Queue, maxReceives int) QueueOption {
	return func(q *Queue) error {
		if dlq == nil || maxReceives < 1 {
			return fmt.Errorf("dead-letter queue needs a queue and maxReceives >= 1 (got %d)", maxReceives)
		}
		if dlq == q {
			return fmt.Errorf("a queue cannot be its own dead-letter queue")
		}
		q.dlq, q.maxReceives = dlq, maxReceives
		return nil
	}
}

// WithQueueIDs sets how message ids and receipts are made (RandomIDs by default).
func WithQueueIDs(ids ports.IDs) QueueOption {
	return func(q *Queue) error {
		if ids == nil {
			return fmt.Errorf("nil ids")
		}
		q.ids = ids
		return nil
	}
}

// NewQueue makes an empty queue named name (used in errors and logs)
// whose timing follows clock.
func NewQueue(name string, clock ports.Clock, opts ...QueueOption) (*Queue, error) {
	if name == "" {
		return nil, fmt.Errorf("memory queue: empty name")
	}
	if clock == nil {
		return nil, fmt.Errorf("memory queue %s: nil clock", name)
	}
	q := &Queue{
		name: name, clock: clock, ids: RandomIDs{},
		receipts: map[string]*queued{}, wake: make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(q); err != nil {
			return nil, fmt.Errorf("memory queue %s: %w", name, err)
		}
	}
	return q, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Send enqueues a copy of m.Body, invisible until m.Delay has passed
// (clamped to SQSMaxDelay).
func (q *Queue) Send(ctx context.Context, out ports.Outgoing) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send to %s: %w", q.name, err)
	}
	delay := out.Delay
	if delay < 0 {
		return fmt.Errorf("send to %s: negative delay %s", q.name, delay)
	}
	if delay > SQSMaxDelay {
		delay = SQSMaxDelay
	}
	m := &queued{id: q.ids.NewID(), body: append([]byte(nil), out.Body...), group: out.Group}
	q.mu.Lock()
	defer q.mu.Unlock()
	m.visibleAt = q.clock.Now().Add(delay)
	q.enqueueLocked(m)
	return nil
}

// enqueueLocked adds m (keeping its receive count) and wakes receivers.
func (q *Queue) enqueueLocked(m *queued) {
	q.seq++
	m.seq = q.seq
	m.receipt, m.receipts = "", nil
	heap.Push(&q.msgs, m)
	q.wakeLocked()
}

func (q *Queue) wakeLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Receive waits up to wait (on the queue's clock) until at least one
// message is visible and returns up to maxMessages of them (1 to MaxReceiveBatch;
// out-of-range values are clamped), each hidden for visibility
// (DefaultVisibility if not positive). Messages already received
// maxReceives times go to the dead-letter queue instead. Oldest visible
// messages come first.
func (q *Queue) Receive(ctx context.Context, maxMessages int, visibility, wait time.Duration) ([]ports.Message, error) {
	limit := min(MaxReceiveBatch, max(maxMessages, 1))
	if visibility <= 0 {
		visibility = DefaultVisibility
	}
	deadline := q.clock.Now().Add(max(wait, 0))
	// Receipt ids are made before taking the lock (RandomIDs reads the
	// system's random source), enough for one full batch.
	receipts := make([]string, limit)
	for i := range receipts {
		receipts[i] = q.ids.NewID()
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.name, err)
		}
		q.mu.Lock()
		now := q.clock.Now()
		got := q.takeLocked(now, receipts, visibility)
		if len(got) > 0 || !now.Before(deadline) {
			q.mu.Unlock()
			// Bodies are never modified once sent, so the copies callers
			// own are made outside the lock.
			for i := range got {
				got[i].Body = append([]byte(nil), got[i].Body...)
			}
			return got, nil
		}
		// Nothing is visible, so the top of the heap is the next message
		// to become so.
		next := deadline
		if len(q.msgs) > 0 && q.msgs[0].visibleAt.Before(next) {
			next = q.msgs[0].visibleAt
		}
		wake := q.wake
		q.mu.Unlock()

		alarm := make(chan struct{})
		stop := atFunc(q.clock, next, func() { close(alarm) })
		select {
		case <-wake:
		case <-alarm:
		case <-ctx.Done():
		}
		stop()
	}
}

// takeLocked delivers up to len(receipts) visible messages from the top of
// the heap, oldest first, moving exhausted ones to the dead-letter queue.
// Each delivery is re-filed at its visibility timeout (visibility > 0, so
// it sinks below everything visible now). The returned bodies are the
// queue's own: the caller copies them.
func (q *Queue) takeLocked(now time.Time, receipts []string, visibility time.Duration) []ports.Message {
	var out []ports.Message
	for len(out) < len(receipts) && len(q.msgs) > 0 && !q.msgs[0].visibleAt.After(now) {
		m := q.msgs[0]
		if q.dlq != nil && m.receives >= q.maxReceives {
			q.removeLocked(m)
			q.dlq.acceptDeadLetter(m)
			continue
		}
		m.receives++
		m.received = now
		m.visibleAt = now.Add(min(visibility, MaxHold))
		m.receipt = m.id + "." + receipts[len(out)]
		m.receipts = append(m.receipts, m.receipt)
		q.receipts[m.receipt] = m
		heap.Fix(&q.msgs, m.index)
		out = append(out, ports.Message{ID: m.id, Body: m.body, Receipt: m.receipt, Receives: m.receives, Group: m.group})
	}
	return out
}

// acceptDeadLetter takes a message another queue gave up on, visible at
// once and keeping its receive count (as SQS does).
func (q *Queue) acceptDeadLetter(m *queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	moved := &queued{id: m.id, body: m.body, group: m.group, receives: m.receives, visibleAt: q.clock.Now()}
	q.enqueueLocked(moved)
}

func (q *Queue) removeLocked(m *queued) {
	if m.index >= 0 {
		heap.Remove(&q.msgs, m.index)
	}
	for _, r := range m.receipts {
		delete(q.receipts, r)
	}
}

// Delete acknowledges a delivery: the message is gone for good. Like SQS,
// any receipt ever issued for the message deletes it, and deleting an
// already deleted message is not an error, so a redelivered worker's late
// acknowledgement is harmless.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	if receipt == "" {
		return fmt.Errorf("delete from %s: empty receipt", q.name)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if m, ok := q.receipts[receipt]; ok {
		q.removeLocked(m)
	}
	return nil
}

// ExtendVisibility hides the delivery for d from now; d = 0 makes it
// visible at once (a worker shutting down gives it back). It fails with
// ErrStaleReceipt when the delivery is no longer the message's current,
// in-flight one, and with ErrHoldCap past SQS's 12 hours from receipt.
func (q *Queue) ExtendVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("extend visibility in %s: negative duration %s", q.name, d)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.receipts[receipt]
	now := q.clock.Now()
	if !ok || m.receipt != receipt || !m.visibleAt.After(now) {
		return fmt.Errorf("extend visibility in %s: %w", q.name, ErrStaleReceipt)
	}
	if now.Add(d).After(m.received.Add(MaxHold)) {
		return fmt.Errorf("extend visibility in %s by %s: %w (received %s)", q.name, d, ErrHoldCap, m.received.Format(time.RFC3339))
	}
	m.visibleAt = now.Add(d)
	heap.Fix(&q.msgs, m.index)
	if d == 0 {
		q.wakeLocked()
	}
	return nil
}

// Stats counts messages now visible, in flight (received, hidden) and
// delayed (sent with a delay not yet passed). It is the one operation that
// walks the whole queue (for metrics and readiness, not per message).
func (q *Queue) Stats(ctx context.Context) (ports.QueueStats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var s ports.QueueStats
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			s.Visible++
		case m.receipt != "":
			s.InFlight++
		default:
			s.Delayed++
		}
	}
	return s, nil
}

var _ ports.Queue = (*Queue)(nil)
