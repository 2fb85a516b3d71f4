package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// UserStore keeps profiles as snapshots, so callers never share a
// mutable profile with the store.
type UserStore struct {
	mu    sync.RWMutex
	users map[domain.UserID]domain.UserSnapshot
}

// NewUserStore returns an empty profile store.
func NewUserStore() *UserStore {
	return &UserStore{users: map[domain.UserID]domain.UserSnapshot{}}
}

// Get returns a copy of the profile; ErrNotFound if the user never signed in.
func (s *UserStore) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
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

// Create stores a new profile; ErrExists if the user already has one.
func (s *UserStore) Create(ctx context.Context, user *domain.User) error {
	if user == nil {
		return fmt.Errorf("create user: nil user")
	}
	snap := user.Snapshot()
	if _, err := domain.RestoreUser(snap); err != nil {
		return fmt.Errorf("create user %s: %w", snap.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[snap.ID]; ok {
		return fmt.Errorf("create user %s: %w", snap.ID, ports.ErrExists)
	}
	s.users[snap.ID] = snap
	return nil
}

// Update replaces the profile if the stored version equals user.Version()
// (like DynamoDB's conditional write) and returns it at the next version.
func (s *UserStore) Update(ctx context.Context, user *domain.User) (*domain.User, error) {
	if user == nil {
		return nil, fmt.Errorf("update user: nil user")
	}
	snap := user.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.users[snap.ID]
	if !ok {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, ports.ErrNotFound)
	}
	if cur.Version != snap.Version {
		return nil, fmt.Errorf("update user %s at version %d (stored %d): %w", snap.ID, snap.Version, cur.Version, ports.ErrConflict)
	}
	snap.Version++
	out, err := domain.RestoreUser(snap)
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	s.users[snap.ID] = snap
	return out, nil
}

// List pages through the profiles in id order; the cursor is the last id
// of the page before.
func (s *UserStore) List(ctx context.Context, cursor string, limit int) ([]*domain.User, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("list users: limit %d must be positive", limit)
	}
	s.mu.RLock()
	ids := make([]domain.UserID, 0, len(s.users))
	for id := range s.users {
		if string(id) > cursor {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids, next = ids[:limit], string(ids[limit-1])
	}
	snaps := make([]domain.UserSnapshot, len(ids))
	for i, id := range ids {
		snaps[i] = s.users[id]
	}
	s.mu.RUnlock()
	out := make([]*domain.User, len(snaps))
	for i, snap := range snaps {
		u, err := domain.RestoreUser(snap)
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
		}
		out[i] = u
	}
	return out, next, nil
}

var _ ports.UserStore = (*UserStore)(nil)
