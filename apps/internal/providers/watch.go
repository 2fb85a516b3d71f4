package providers

import (
	"context"
	"sync"

	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// WatchedJobStore wraps the job store of a site in one process (local
// mode), where every change to a job goes through it, and tells those
// waiting for a job (a GET with ?wait=) the moment its record changes:
// they learn of a job's end at once, instead of at their next re-read.
type WatchedJobStore struct {
	ports.JobStore
	mu    sync.Mutex
	waits map[domain.JobID]*jobWait
}

// jobWait is a channel closed at a job's next change, and how many wait
// on it.
type jobWait struct {
	ch chan struct{}
	n  int
}

// NewWatchedJobStore wraps s.
func NewWatchedJobStore(s ports.JobStore) *WatchedJobStore {
	return &WatchedJobStore{JobStore: s, waits: map[domain.JobID]*jobWait{}}
}

// WatchSQLiteJobs watches durable local mode's job store.
func WatchSQLiteJobs(s *sqlite.JobStore) *WatchedJobStore { return NewWatchedJobStore(s) }

// WatchMemoryJobs watches the ephemeral job store.
func WatchMemoryJobs(s *CountedJobStore) *WatchedJobStore { return NewWatchedJobStore(s) }

// Update stores the job and wakes those waiting for it.
func (w *WatchedJobStore) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	out, err := w.JobStore.Update(ctx, j)
	if err == nil {
		w.changed(j.ID())
	}
	return out, err
}

// Delete removes the job and wakes those waiting for it.
func (w *WatchedJobStore) Delete(ctx context.Context, id domain.JobID, version int64) error {
	err := w.JobStore.Delete(ctx, id, version)
	if err == nil {
		w.changed(id)
	}
	return err
}

// Watch returns a channel closed when the job next changes, and the func
// to call once no longer waiting on it (the last waiter's call forgets
// the channel, so jobs nobody waits for cost nothing).
func (w *WatchedJobStore) Watch(id domain.JobID) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := w.waits[id]
	if wt == nil {
		wt = &jobWait{ch: make(chan struct{})}
		w.waits[id] = wt
	}
	wt.n++
	return wt.ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if wt.n--; wt.n == 0 && w.waits[id] == wt {
			delete(w.waits, id)
		}
	}
}

func (w *WatchedJobStore) changed(id domain.JobID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt := w.waits[id]; wt != nil {
		close(wt.ch)
		delete(w.waits, id)
	}
}
