package memory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
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

// JobStore keeps jobs as snapshots (plain values), so a caller that
// mutates a job it got or stored never changes what the store holds — the
// same isolation a database gives. Updates compare the version exactly
// like DynamoDB's conditional write.
//
// It is built for local mode's concurrency: jobs are spread over shards by
// id, each with its own lock, so workers getting and updating different
// jobs rarely meet; each user's jobs are indexed in submission order in a
// slice that Create appends to (submissions arrive in time order, so an
// insert is O(1) amortised, or a binary search and a short move for the
// few that arrive out of order), which a page reads backwards from a
// binary-searched cursor. Completed jobs are also indexed by results
// storage state, so ListByStorage reads only the jobs it returns. Locks
// are always taken job shard first, then user shard, and lists copy what
// they need from the user index before reading jobs.
type JobStore struct {
	seed  maphash.Seed
	jobs  [storeShards]jobShard
	users [storeShards]userShard
}

type jobShard struct {
	mu   sync.RWMutex
	jobs map[domain.JobID]domain.JobSnapshot
}

type userShard struct {
	mu    sync.RWMutex
	users map[domain.UserID]*userIndex
}

// userIndex is one user's jobs in order.
type userIndex struct {
	keys   []jobKey // oldest first: newest pages are at the end
	stored map[domain.Storage]map[domain.JobID]jobKey
}

// jobKey is a job's position in its owner's list.
type jobKey struct {
	At time.Time    `json:"t"`
	ID domain.JobID `json:"i"`
}

// less orders keys oldest first, ties by id ascending: the reverse of the
// newest-first (ties by id descending) order lists are returned in.
func (a jobKey) less(b jobKey) bool {
	if c := a.At.Compare(b.At); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// NewJobStore returns an empty job store.
func NewJobStore() *JobStore {
	s := &JobStore{seed: maphash.MakeSeed()}
	for i := range s.jobs {
		s.jobs[i].jobs = map[domain.JobID]domain.JobSnapshot{}
		s.users[i].users = map[domain.UserID]*userIndex{}
	}
	return s
}

func (s *JobStore) jobShard(id domain.JobID) *jobShard {
	return &s.jobs[maphash.String(s.seed, string(id))%storeShards]
}

func (s *JobStore) userShard(u domain.UserID) *userShard {
	return &s.users[maphash.String(s.seed, string(u))%storeShards]
}

// storedState is the results-storage index a snapshot belongs to: only
// completed jobs have results.
func storedState(snap domain.JobSnapshot) (domain.Storage, bool) {
	return snap.Storage, snap.Status == domain.StatusCompleted
}

// Create stores job as it is (including its version); ErrExists if the id is taken.
func (s *JobStore) Create(ctx context.Context, job *domain.Job) error {
	if job == nil {
		return fmt.Errorf("create job: nil job")
	}
	snap := job.Snapshot()
	js := s.jobShard(snap.ID)
	js.mu.Lock()
	defer js.mu.Unlock()
	if _, ok := js.jobs[snap.ID]; ok {
		return fmt.Errorf("create job %s: %w", snap.ID, ports.ErrExists)
	}
	js.jobs[snap.ID] = snap
	k := jobKey{At: snap.SubmittedAt, ID: snap.ID}
	us := s.userShard(snap.Owner)
	us.mu.Lock()
	defer us.mu.Unlock()
	idx := us.users[snap.Owner]
	if idx == nil {
		idx = &userIndex{stored: map[domain.Storage]map[domain.JobID]jobKey{}}
		us.users[snap.Owner] = idx
	}
	if n := len(idx.keys); n == 0 || idx.keys[n-1].less(k) {
		idx.keys = append(idx.keys, k) // the usual case: the newest job
	} else {
		i := sort.Search(n, func(i int) bool { return k.less(idx.keys[i]) })
		idx.keys = slices.Insert(idx.keys, i, k)
	}
	if st, ok := storedState(snap); ok {
		idx.store(st, k)
	}
	return nil
}

func (idx *userIndex) store(st domain.Storage, k jobKey) {
	m := idx.stored[st]
	if m == nil {
		m = map[domain.JobID]jobKey{}
		idx.stored[st] = m
	}
	m[k.ID] = k
}

// Get returns a fresh copy of the job; ErrNotFound if absent.
func (s *JobStore) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	snap, ok := s.snapshot(id)
	if !ok {
		return nil, fmt.Errorf("get job %s: %w", id, ports.ErrNotFound)
	}
	return restoreJob(snap)
}

func (s *JobStore) snapshot(id domain.JobID) (domain.JobSnapshot, bool) {
	js := s.jobShard(id)
	js.mu.RLock()
	snap, ok := js.jobs[id]
	js.mu.RUnlock()
	return snap, ok
}

// Update writes job if the stored version equals job.Version() and returns
// it at the next version; ErrConflict when another write got there first,
// ErrNotFound when there is no such job.
func (s *JobStore) Update(ctx context.Context, job *domain.Job) (*domain.Job, error) {
	if job == nil {
		return nil, fmt.Errorf("update job: nil job")
	}
	snap := job.Snapshot()
	js := s.jobShard(snap.ID)
	js.mu.Lock()
	defer js.mu.Unlock()
	cur, ok := js.jobs[snap.ID]
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
	js.jobs[snap.ID] = snap
	oldSt, wasStored := storedState(cur)
	newSt, isStored := storedState(snap)
	if wasStored != isStored || oldSt != newSt {
		us := s.userShard(snap.Owner)
		us.mu.Lock()
		idx := us.users[snap.Owner]
		if wasStored {
			delete(idx.stored[oldSt], snap.ID)
		}
		if isStored {
			idx.store(newSt, jobKey{At: snap.SubmittedAt, ID: snap.ID})
		}
		us.mu.Unlock()
	}
	return out, nil
}

// ListByUser pages through user's jobs newest first (ties by id,
// descending). The cursor encodes the last job returned, so jobs created
// while a user pages never shift later pages.
func (s *JobStore) ListByUser(ctx context.Context, user domain.UserID, cursor string, limit int) ([]*domain.Job, string, error) {
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
	us := s.userShard(user)
	us.mu.RLock()
	var keys []jobKey
	more := false
	if idx := us.users[user]; idx != nil {
		end := len(idx.keys)
		if after != nil {
			// Older than the cursor: everything before the first key >= it.
			end = sort.Search(end, func(i int) bool { return !idx.keys[i].less(*after) })
		}
		start := max(end-limit, 0)
		keys = slices.Clone(idx.keys[start:end])
		more = start > 0
	}
	us.mu.RUnlock()
	jobs := make([]*domain.Job, 0, len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		snap, ok := s.snapshot(keys[i].ID)
		if !ok {
			continue // deleted since the index was read
		}
		j, err := restoreJob(snap)
		if err != nil {
			return nil, "", err
		}
		jobs = append(jobs, j)
	}
	next := ""
	if more && len(keys) > 0 {
		next = encodeCursor(keys[0])
	}
	return jobs, next, nil
}

// ListByStorage returns user's completed jobs whose results are in state,
// newest first. It reads only those jobs, from the user's storage index.
func (s *JobStore) ListByStorage(ctx context.Context, user domain.UserID, state domain.Storage) ([]*domain.Job, error) {
	us := s.userShard(user)
	us.mu.RLock()
	var keys []jobKey
	if idx := us.users[user]; idx != nil {
		for _, k := range idx.stored[state] {
			keys = append(keys, k)
		}
	}
	us.mu.RUnlock()
	slices.SortFunc(keys, func(a, b jobKey) int {
		switch {
		case b.less(a):
			return -1
		case a.less(b):
			return 1
		}
		return 0
	})
	out := make([]*domain.Job, 0, len(keys))
	for _, k := range keys {
		snap, ok := s.snapshot(k.ID)
		// A job updated since the index was read is re-checked here.
		if !ok || snap.Status != domain.StatusCompleted || snap.Storage != state {
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
	j, err := domain.JobFromSnapshot(s)
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

var _ ports.JobStore = (*JobStore)(nil)

// Scan visits every job, shard by shard: each shard's snapshots are copied
// under its read lock and visited after it is released, so visit may call
// back into the store.
func (s *JobStore) Scan(ctx context.Context, visit func(*domain.Job) error) error {
	for i := range s.jobs {
		js := &s.jobs[i]
		js.mu.RLock()
		snaps := make([]domain.JobSnapshot, 0, len(js.jobs))
		for _, snap := range js.jobs {
			snaps = append(snaps, snap)
		}
		js.mu.RUnlock()
		for _, snap := range snaps {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("scan jobs: %w", err)
			}
			j, err := restoreJob(snap)
			if err != nil {
				return fmt.Errorf("scan jobs: %w", err)
			}
			if err := visit(j); err != nil {
				return err
			}
		}
	}
	return nil
}
