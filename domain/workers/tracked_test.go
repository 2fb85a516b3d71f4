package workers_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// trackedJobs counts transitions into COMPLETED per job, so a test can
// prove no job completes twice.
type trackedJobs struct {
	ports.JobStore
	mu          sync.Mutex
	completions map[domain.JobID]int
	// onUpdate, if set, sees every successful write (old and new state).
	onUpdate func(before, after domain.JobSnapshot)
	// lag, when set, hides jobs written in the last lag from
	// ListByStorage, as a DynamoDB global secondary index lags.
	lag     time.Duration
	clock   ports.Clock
	written map[domain.JobID]time.Time
}

// ListByStorage leaves out the jobs the lagging index has not caught up with.
func (s *trackedJobs) ListByStorage(ctx context.Context, u domain.UserID, st domain.Storage) ([]*domain.Job, error) {
	js, err := s.JobStore.ListByStorage(ctx, u, st)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lag == 0 || err != nil {
		return js, err
	}
	now := s.clock.Now()
	return slices.DeleteFunc(js, func(j *domain.Job) bool {
		at, ok := s.written[j.ID()]
		return ok && now.Sub(at) < s.lag
	}), nil
}

func (s *trackedJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	before, err := s.JobStore.Get(ctx, j.ID())
	if err != nil {
		return nil, err
	}
	out, err := s.JobStore.Update(ctx, j)
	if err == nil {
		s.mu.Lock()
		if before.Status() != domain.StatusCompleted && out.Status() == domain.StatusCompleted {
			s.completions[j.ID()]++
		}
		if s.clock != nil {
			s.written[j.ID()] = s.clock.Now()
		}
		hook := s.onUpdate
		s.mu.Unlock()
		if hook != nil {
			hook(before.Snapshot(), out.Snapshot())
		}
	}
	return out, err
}

// trackedArchive mirrors what cold storage holds, so invariants can check
// an archived result really is there (the port has no way to list).
type trackedArchive struct {
	ports.Archive
	mem    *memory.Archive
	mu     sync.Mutex
	live   map[string][]byte
	parsed map[string]map[string]string // bundle files by archive id, parsed once
	// onPut, if set, runs after a successful Put.
	onPut func(key string)
	// forgotten are retrievals cold storage no longer knows (expired or
	// lost): they answer ports.ErrNotFound.
	forgotten map[string]bool
	// initiated lists every retrieval started, in order.
	initiated []string
}

func (a *trackedArchive) InitiateRestore(ctx context.Context, id string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	r, err := a.Archive.InitiateRestore(ctx, id, tier)
	if err == nil {
		a.mu.Lock()
		a.initiated = append(a.initiated, r.ID)
		a.mu.Unlock()
	}
	return r, err
}

// forget makes cold storage forget a retrieval, as when its restored copy
// expires before the restorer wrote it back.
func (a *trackedArchive) forget(retrieval string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.forgotten == nil {
		a.forgotten = map[string]bool{}
	}
	a.forgotten[retrieval] = true
}

func (a *trackedArchive) known(retrieval string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.forgotten[retrieval] {
		return fmt.Errorf("retrieval %s: %w", retrieval, ports.ErrNotFound)
	}
	return nil
}

func (a *trackedArchive) RestoreStatus(ctx context.Context, id string) (ports.RestoreStatus, error) {
	if err := a.known(id); err != nil {
		return ports.RestoreStatus{}, err
	}
	return a.Archive.RestoreStatus(ctx, id)
}

func (a *trackedArchive) OpenRestored(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := a.known(id); err != nil {
		return nil, err
	}
	return a.Archive.OpenRestored(ctx, id)
}

func (a *trackedArchive) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	var buf bytes.Buffer
	id, err := a.Archive.Put(ctx, key, io.TeeReader(r, &buf))
	if err != nil {
		return id, err
	}
	a.mu.Lock()
	a.live[id] = buf.Bytes()
	delete(a.parsed, id)
	hook := a.onPut
	a.mu.Unlock()
	if hook != nil {
		hook(key)
	}
	return id, nil
}

func (a *trackedArchive) Delete(ctx context.Context, id string) error {
	if err := a.Archive.Delete(ctx, id); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.live, id)
	delete(a.parsed, id)
	a.mu.Unlock()
	return nil
}

// bundle returns the files of an archive copy, or false if it is gone.
func (a *trackedArchive) bundle(id string) (map[string]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.live[id]
	if !ok {
		return nil, false
	}
	if files, ok := a.parsed[id]; ok {
		return files, true
	}
	files := map[string]string{}
	if a.parsed == nil {
		a.parsed = map[string]map[string]string{}
	}
	a.parsed[id] = files
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		c, _ := io.ReadAll(tr)
		files[h.Name] = string(c)
	}
	return files, true
}

func (a *trackedArchive) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.live)
}
