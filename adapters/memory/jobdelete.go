package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Delete removes the job if its stored version is version, from the jobs
// and from its owner's indexes; ErrConflict if it changed, ErrNotFound if
// it is gone.
func (s *JobStore) Delete(ctx context.Context, id domain.JobID, version int64) error {
	js := s.jobShard(id)
	js.mu.Lock()
	defer js.mu.Unlock()
	cur, ok := js.jobs[id]
	switch {
	case !ok:
		return fmt.Errorf("delete job %s: %w", id, ports.ErrNotFound)
	case cur.Version != version:
		return fmt.Errorf("delete job %s at version %d (stored %d): %w", id, version, cur.Version, ports.ErrConflict)
	}
	delete(js.jobs, id)
	us := s.userShard(cur.Owner)
	us.mu.Lock()
	defer us.mu.Unlock()
	idx := us.users[cur.Owner]
	if idx == nil {
		return nil
	}
	k := jobKey{At: cur.SubmittedAt, ID: id}
	if i, found := slices.BinarySearchFunc(idx.keys, k, func(a, b jobKey) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	}); found {
		idx.keys = slices.Delete(idx.keys, i, i+1)
	}
	if st, ok := storedState(cur); ok {
		delete(idx.stored[st], id)
	}
	return nil
}
