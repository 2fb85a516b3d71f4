package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// SessionStore is the in-memory ports.SessionStore (tests, --ephemeral).
// Sessions are indexed by id (every request looks one up) and by user
// (sign out everywhere). Expired sessions are swept out every sweepEvery
// creates, so a long-running process does not keep them forever.
type SessionStore struct {
	mu      sync.Mutex
	byID    map[string]ports.Session
	byUser  map[domain.UserID]map[string]bool
	creates int
}

// sweepEvery is how many creates pass between sweeps of expired sessions.
const sweepEvery = 1024

// NewSessionStore makes an empty store.
func NewSessionStore() *SessionStore {
	return &SessionStore{byID: map[string]ports.Session{}, byUser: map[domain.UserID]map[string]bool{}}
}

var _ ports.SessionStore = (*SessionStore)(nil)

// Create stores s; ErrExists if its id is taken, ErrInvalidSession if s is incomplete.
func (m *SessionStore) Create(ctx context.Context, s ports.Session) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.creates++; m.creates%sweepEvery == 0 {
		m.sweepLocked(s.CreatedAt)
	}
	if _, ok := m.byID[s.ID]; ok {
		return fmt.Errorf("create session of %s: %w", s.User, ports.ErrExists)
	}
	m.byID[s.ID] = s
	if m.byUser[s.User] == nil {
		m.byUser[s.User] = map[string]bool{}
	}
	m.byUser[s.User][s.ID] = true
	return nil
}

// Get returns the session if it is live at now.
func (m *SessionStore) Get(ctx context.Context, id string, now time.Time) (ports.Session, error) {
	m.mu.Lock()
	s, ok := m.byID[id]
	m.mu.Unlock()
	if !ok || !now.Before(s.ExpiresAt) {
		return ports.Session{}, fmt.Errorf("session: %w", ports.ErrNotFound)
	}
	return s, nil
}

// Delete ends one session.
func (m *SessionStore) Delete(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(id)
	return nil
}

// DeleteUser ends every session of user.
func (m *SessionStore) DeleteUser(ctx context.Context, user domain.UserID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.byUser[user] {
		m.deleteLocked(id)
	}
	return nil
}

func (m *SessionStore) deleteLocked(id string) {
	s, ok := m.byID[id]
	if !ok {
		return
	}
	delete(m.byID, id)
	delete(m.byUser[s.User], id)
	if len(m.byUser[s.User]) == 0 {
		delete(m.byUser, s.User)
	}
}

func (m *SessionStore) sweepLocked(now time.Time) {
	for id, s := range m.byID {
		if !now.Before(s.ExpiresAt) {
			m.deleteLocked(id)
		}
	}
}
