package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// MemoryUserStore keeps profiles as snapshots, so callers never share a
// mutable profile with the store.
type MemoryUserStore struct {
	mu    sync.RWMutex
	users map[domain.UserID]domain.UserSnapshot
}

// NewMemoryUserStore returns an empty profile store.
func NewMemoryUserStore() *MemoryUserStore {
	return &MemoryUserStore{users: map[domain.UserID]domain.UserSnapshot{}}
}

// Get returns a copy of the profile; ErrNotFound if the user never signed in.
func (s *MemoryUserStore) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
	s.mu.RLock()
	snap, ok := s.users[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("get user %s: %w", id, ports.ErrNotFound)
	}
	u, err := domain.RestoreUser(snap)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}

// Put creates or replaces the profile.
func (s *MemoryUserStore) Put(ctx context.Context, user *domain.User) error {
	if user == nil {
		return fmt.Errorf("put user: nil user")
	}
	snap := user.Snapshot()
	if _, err := domain.RestoreUser(snap); err != nil {
		return fmt.Errorf("put user %s: %w", snap.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[snap.ID] = snap
	return nil
}

var _ ports.UserStore = (*MemoryUserStore)(nil)
