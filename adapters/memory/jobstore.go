package memory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// DefaultPageSize is the page length ListByUser uses when asked for 0 or less.
const DefaultPageSize = 25

// ErrBadCursor is returned for a ListByUser cursor this store did not make,
// so a tampered URL gets a clear error instead of a wrong page.
var ErrBadCursor = errors.New("invalid page cursor")

// MemoryJobStore keeps jobs as snapshots (plain values), so a caller that
// mutates a job it got or stored never changes what the store holds — the
// same isolation a database gives. Updates compare the version exactly
// like DynamoDB's conditional write.
type MemoryJobStore struct {
	mu     sync.RWMutex
	jobs   map[domain.JobID]domain.JobSnapshot
	byUser map[domain.UserID][]jobKey // newest first
}

// jobKey is a job's position in its owner's list.
type jobKey struct {
	At time.Time    `json:"t"`
	ID domain.JobID `json:"i"`
}

// before reports whether a sorts ahead of b: newer first, then larger id first.
func (a jobKey) before(b jobKey) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// NewMemoryJobStore returns an empty job store.
func NewMemoryJobStore() *MemoryJobStore {
	return &MemoryJobStore{jobs: map[domain.JobID]domain.JobSnapshot{}, byUser: map[domain.UserID][]jobKey{}}
}

// Create stores job as it is (including its version); ErrExists if the id is taken.
func (s *MemoryJobStore) Create(ctx context.Context, job *domain.Job) error {
	if job == nil {
		return fmt.Errorf("create job: nil job")
	}
	snap := job.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[snap.ID]; ok {
		return fmt.Errorf("create job %s: %w", snap.ID, ports.ErrExists)
	}
	s.jobs[snap.ID] = snap
	k := jobKey{At: snap.SubmittedAt, ID: snap.ID}
	list := s.byUser[snap.Owner]
	i := sort.Search(len(list), func(i int) bool { return !list[i].before(k) })
	list = append(list, jobKey{})
	copy(list[i+1:], list[i:])
	list[i] = k
	s.byUser[snap.Owner] = list
	return nil
}

// Get returns a fresh copy of the job; ErrNotFound if absent.
func (s *MemoryJobStore) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	s.mu.RLock()
	snap, ok := s.jobs[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("get job %s: %w", id, ports.ErrNotFound)
	}
	return restoreJob(snap)
}

// Update writes job if the stored version equals job.Version() and returns
// it at the next version; ErrConflict when another write got there first,
// ErrNotFound when there is no such job.
func (s *MemoryJobStore) Update(ctx context.Context, job *domain.Job) (*domain.Job, error) {
	if job == nil {
		return nil, fmt.Errorf("update job: nil job")
	}
	snap := job.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.jobs[snap.ID]
	if !ok {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, ports.ErrNotFound)
	}
	if cur.Version != snap.Version {
		return nil, fmt.Errorf("update job %s at version %d (stored %d): %w", snap.ID, snap.Version, cur.Version, ports.ErrConflict)
	}
	if cur.Owner != snap.Owner || !cur.SubmittedAt.Equal(snap.SubmittedAt) {
		return nil, fmt.Errorf("update job %s: owner and submission time are immutable", snap.ID)
	}
	snap.Version++
	out, err := restoreJob(snap)
	if err != nil {
		return nil, err
	}
	s.jobs[snap.ID] = snap
	return out, nil
}

// ListByUser pages through user's jobs newest first (ties by id,
// descending). The cursor encodes the last job returned, so jobs created
// while a user pages never shift later pages.
func (s *MemoryJobStore) ListByUser(ctx context.Context, user domain.UserID, cursor string, limit int) ([]*domain.Job, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var after *jobKey
	if cursor != "" {
		k, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
		}
		after = &k
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.byUser[user]
	start := 0
	if after != nil {
		start = sort.Search(len(list), func(i int) bool { return after.before(list[i]) })
	}
	end := min(start+limit, len(list))
	jobs := make([]*domain.Job, 0, end-start)
	for _, k := range list[start:end] {
		j, err := restoreJob(s.jobs[k.ID])
		if err != nil {
			return nil, "", err
		}
		jobs = append(jobs, j)
	}
	next := ""
	if end < len(list) && end > start {
		next = encodeCursor(list[end-1])
	}
	return jobs, next, nil
}

// ListByStorage returns user's completed jobs whose results are in state,
// newest first.
func (s *MemoryJobStore) ListByStorage(ctx context.Context, user domain.UserID, state domain.Storage) ([]*domain.Job, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*domain.Job
	for _, k := range s.byUser[user] {
		snap := s.jobs[k.ID]
		if snap.Status != domain.StatusCompleted || snap.Storage != state {
			continue
		}
		j, err := restoreJob(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func restoreJob(s domain.JobSnapshot) (*domain.Job, error) {
	j, err := domain.RestoreJob(s)
	if err != nil {
		return nil, fmt.Errorf("load job %s: %w", s.ID, err)
	}
	return j, nil
}

func encodeCursor(k jobKey) string {
	b, _ := json.Marshal(k) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (jobKey, error) {
	var k jobKey
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return k, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	if err := json.Unmarshal(b, &k); err != nil || k.ID == "" || k.At.IsZero() {
		return k, fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	return k, nil
}

var _ ports.JobStore = (*MemoryJobStore)(nil)
