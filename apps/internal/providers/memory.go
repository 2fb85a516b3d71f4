package providers

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// MemorySet provides every port on the in-memory adapters (tests and
// `gas serve --ephemeral`): stores, object store, queues and topics,
// archive, outbox, billing, API tokens, sessions and the system clock and
// ids. SQLiteSet is its durable twin.
var MemorySet = wire.NewSet(
	SystemClock,
	RandomIDs,
	MemoryJobStore,
	WatchMemoryJobs,
	wire.Bind(new(ports.JobStore), new(*WatchedJobStore)),
	wire.Bind(new(JobCounter), new(*CountedJobStore)),
	MemoryUserStore,
	MemoryObjectStore,
	wire.Bind(new(ports.ObjectStore), new(*memory.ObjectStore)),
	wire.Bind(new(LocalObjects), new(*memory.ObjectStore)),
	MemoryMessages,
	MemoryArchive,
	wire.Bind(new(ports.Archive), new(*memory.Archive)),
	MemoryOutbox,
	wire.Bind(new(ports.Mailer), new(*memory.Outbox)),
	MemoryOutboxReader,
	MemoryBilling,
	MemoryTokens,
	wire.Bind(new(ports.TokenStore), new(*memory.TokenStore)),
	MemorySessions,
	EphemeralSecrets,
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
// the app's presign.DefaultURLPrefix handler and are signed with a
// per-process key.
func MemoryObjectStore() (*memory.ObjectStore, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s, err := memory.NewObjectStore(memory.WithURLPrefix(presign.DefaultURLPrefix), memory.WithSigningKey(key))
	if err != nil {
		return nil, fmt.Errorf("memory object store: %w", err)
	}
	return s, nil
}

// MemoryMessages opens the message topology in memory (memory.OpenTopology).
func MemoryMessages(clock ports.Clock) (*message.Bus, error) {
	return memory.OpenTopology(message.DefaultTopology(), clock)
}

// MemoryArchive is cold storage whose retrievals take the configured time
// and, like Glacier's notification, publish a restore completion for the
// job whose archive key the retrieval read.
func MemoryArchive(clock ports.Clock, bus *message.Bus, o LocalOptions, s Settings) (*memory.Archive, func(), error) {
	notify := restoreNotifier(bus, s)
	opts := []memory.ArchiveOption{memory.WithRestoreCallback(func(ctx context.Context, c memory.RestoreCompletion) error {
		return notify(ctx, c.ArchiveID)
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

// MemoryOutbox keeps sent e-mails for the local outbox page.
func MemoryOutbox(clock ports.Clock) (*memory.Outbox, error) {
	return memory.NewOutbox(clock, memory.DefaultOutboxSize)
}

// MemoryBilling takes no card.
func MemoryBilling() ports.Billing { return memory.NewFreeBilling() }

// MemoryTokens keeps API tokens in memory.
func MemoryTokens() *memory.TokenStore { return memory.NewTokenStore() }

// MemorySessions keeps web sessions in memory: they end with the process.
func MemorySessions() ports.SessionStore { return memory.NewSessionStore() }

// MemoryOutboxReader reads the memory outbox for the outbox page.
func MemoryOutboxReader(o *memory.Outbox) OutboxReader {
	return func(_ context.Context, user domain.UserID) ([]web.OutboxEmail, error) {
		sent := o.SentTo(user)
		out := make([]web.OutboxEmail, len(sent))
		for i, e := range sent {
			out[i] = web.OutboxEmail{To: e.To, Subject: e.Subject, Text: e.Text, SentAt: e.SentAt}
		}
		return out, nil
	}
}

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
