package providers

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Queues are the work queues of the message topology and their
// dead-letter queues, whatever the backend.
type Queues struct {
	Annotate, Notify, Thaw, Restore, Archive ports.Queue
	// DeadLetters maps each work queue above to its dead-letter queue.
	DeadLetters map[ports.Queue]ports.Queue
}

// Topics are the publish side of the topology.
type Topics struct {
	JobRequests, JobResults, ThawRequests, RestoreCompletions ports.Publisher
}

// Messaging bundles queues and topics: several of each share one interface
// type, so injectors pass the bundle and pick fields. AWSMessaging has the
// same shape and converts with Messaging{Queues(m.Queues), Topics(m.Topics)}.
type Messaging struct {
	Queues Queues
	Topics Topics
}

// MemoryOptions tune the in-memory backend of local mode.
type MemoryOptions struct {
	// ExpeditedRestore and StandardRestore are how long the memory archive
	// takes per retrieval tier.
	ExpeditedRestore, StandardRestore time.Duration
	// MaxReceives is how often a message is delivered before it goes to
	// its dead-letter queue (default 5).
	MaxReceives int
	// ObjectURLPrefix is where the app mounts the object store's presigned
	// handler (default "/objects").
	ObjectURLPrefix string
}

// MemorySet provides every port on the in-memory adapters (local mode and
// tests): stores, object store, queues and topics, archive, outbox,
// billing, API tokens and the system clock and ids.
var MemorySet = wire.NewSet(
	SystemClock,
	RandomIDs,
	MemoryJobStore,
	wire.Bind(new(ports.JobStore), new(*CountedJobStore)),
	MemoryUserStore,
	MemoryObjectStore,
	wire.Bind(new(ports.ObjectStore), new(*memory.ObjectStore)),
	MemoryMessages,
	MemoryArchive,
	wire.Bind(new(ports.Archive), new(*memory.Archive)),
	MemoryOutbox,
	wire.Bind(new(ports.Mailer), new(*memory.Outbox)),
	MemoryBilling,
	MemoryTokens,
	wire.Bind(new(ports.TokenStore), new(*memory.TokenStore)),
)

// SystemClock is the wall clock.
func SystemClock() ports.Clock { return memory.NewSystemClock() }

// RandomIDs makes random ids.
func RandomIDs() ports.IDs { return memory.NewRandomIDs() }

// MemoryJobStore is the in-memory job store, counted by status for metrics.
func MemoryJobStore() *CountedJobStore { return NewCountedJobStore(memory.NewJobStore()) }

// MemoryUserStore is the in-memory profile store.
func MemoryUserStore() ports.UserStore { return memory.NewUserStore() }

// MemoryObjectStore keeps objects in memory; its presigned URLs point at
// the app's /objects handler and are signed with a per-process key.
func MemoryObjectStore(o MemoryOptions) (*memory.ObjectStore, error) {
	prefix := o.ObjectURLPrefix
	if prefix == "" {
		prefix = presign.DefaultURLPrefix
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s, err := memory.NewObjectStore(memory.WithURLPrefix(prefix), memory.WithSigningKey(key))
	if err != nil {
		return nil, fmt.Errorf("memory object store: %w", err)
	}
	return s, nil
}

// MemoryMessages builds the topology in memory: each work queue with a
// dead-letter queue after MaxReceives deliveries, and the topics fanning
// out to their queues.
func MemoryMessages(clock ports.Clock, o MemoryOptions) (*Messaging, error) {
	maxReceives := o.MaxReceives
	if maxReceives <= 0 {
		maxReceives = 5
	}
	m := &Messaging{Queues: Queues{DeadLetters: map[ports.Queue]ports.Queue{}}}
	for _, q := range []struct {
		name string
		dst  *ports.Queue
	}{
		{"annotate", &m.Queues.Annotate}, {"notify", &m.Queues.Notify}, {"thaw", &m.Queues.Thaw},
		{"restore", &m.Queues.Restore}, {"archive", &m.Queues.Archive},
	} {
		dlq, err := memory.NewQueue(q.name+"-dlq", clock)
		if err != nil {
			return nil, err
		}
		work, err := memory.NewQueue(q.name, clock, memory.WithDeadLetter(dlq, maxReceives))
		if err != nil {
			return nil, err
		}
		*q.dst = work
		m.Queues.DeadLetters[work] = dlq
	}
	for _, t := range []struct {
		name string
		dst  *ports.Publisher
		to   ports.Queue
	}{
		{"job-requests", &m.Topics.JobRequests, m.Queues.Annotate}, {"job-results", &m.Topics.JobResults, m.Queues.Notify},
		{"thaw-requests", &m.Topics.ThawRequests, m.Queues.Thaw}, {"restore-completions", &m.Topics.RestoreCompletions, m.Queues.Restore},
	} {
		topic, err := memory.NewTopic(t.name, t.to)
		if err != nil {
			return nil, err
		}
		*t.dst = topic
	}
	return m, nil
}

// MemoryArchive is cold storage whose retrievals take the configured time
// and, like Glacier's notification, publish a restore completion for the
// job whose archive key the retrieval read (keys are <prefix><user>/<job>/<hash>.tar).
func MemoryArchive(clock ports.Clock, m *Messaging, o MemoryOptions) (*memory.Archive, func(), error) {
	opts := []memory.ArchiveOption{memory.WithRestoreCallback(func(ctx context.Context, c memory.RestoreCompletion) error {
		job, ok := jobOfArchiveKey(c.ArchiveID)
		if !ok {
			return fmt.Errorf("restore completion for unrecognised archive %q", c.ArchiveID)
		}
		return message.Publish(ctx, m.Topics.RestoreCompletions, message.RestoreCompleted(job))
	})}
	if o.ExpeditedRestore > 0 || o.StandardRestore > 0 {
		opts = append(opts, memory.WithRetrievalTimes(o.ExpeditedRestore, o.StandardRestore))
	}
	a, err := memory.NewArchive(clock, opts...)
	if err != nil {
		return nil, nil, err
	}
	return a, func() { _ = a.Close() }, nil
}

// jobOfArchiveKey reads the job id out of an archive key
// (jobs.ArchiveKey: <prefix><user>/<job>/<hash>.tar).
func jobOfArchiveKey(key string) (domain.JobID, bool) {
	var parts []string
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			parts = append(parts, key[start:i])
			start = i + 1
		}
	}
	parts = append(parts, key[start:])
	if len(parts) < 3 || parts[len(parts)-2] == "" {
		return "", false
	}
	return domain.JobID(parts[len(parts)-2]), true
}

// MemoryOutbox keeps sent e-mails for the local outbox page.
func MemoryOutbox(clock ports.Clock) (*memory.Outbox, error) {
	return memory.NewOutbox(clock, memory.DefaultOutboxSize)
}

// MemoryBilling takes no card.
func MemoryBilling() ports.Billing { return memory.NewFreeBilling() }

// MemoryTokens keeps API tokens in memory.
func MemoryTokens() *memory.TokenStore { return memory.NewTokenStore() }

// CountedJobStore wraps a job store and keeps a count of jobs by status,
// so /metrics can report it without scanning the store.
type CountedJobStore struct {
	ports.JobStore
	mu     sync.Mutex
	status map[domain.JobID]domain.Status
	counts map[domain.Status]int
}

// NewCountedJobStore wraps s; only jobs created through the wrapper are counted.
func NewCountedJobStore(s ports.JobStore) *CountedJobStore {
	return &CountedJobStore{JobStore: s, status: map[domain.JobID]domain.Status{}, counts: map[domain.Status]int{}}
}

// Create stores and counts a new job.
func (c *CountedJobStore) Create(ctx context.Context, j *domain.Job) error {
	if err := c.JobStore.Create(ctx, j); err != nil {
		return err
	}
	c.mu.Lock()
	c.status[j.ID()] = j.Status()
	c.counts[j.Status()]++
	c.mu.Unlock()
	return nil
}

// Update stores and moves the job's count to its new status.
func (c *CountedJobStore) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	out, err := c.JobStore.Update(ctx, j)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	if old, ok := c.status[out.ID()]; ok {
		c.counts[old]--
		c.status[out.ID()] = out.Status()
		c.counts[out.Status()]++
	}
	c.mu.Unlock()
	return out, nil
}

// Counts returns jobs by status.
func (c *CountedJobStore) Counts(context.Context) (map[domain.Status]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[domain.Status]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out, nil
}
