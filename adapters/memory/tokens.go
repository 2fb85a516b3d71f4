package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// TokenStore is the in-memory ports.TokenStore for local mode and
// tests. Tokens are indexed by hash (every API request looks one up) and
// by owner and id (the profile page lists and revokes them), so no
// operation scans other users' tokens.
type TokenStore struct {
	mu     sync.RWMutex
	byHash map[string]*ports.APIToken
	byUser map[domain.UserID]map[string]*ports.APIToken // owner -> id -> token
}

// NewTokenStore makes an empty store.
func NewTokenStore() *TokenStore {
	return &TokenStore{byHash: map[string]*ports.APIToken{}, byUser: map[domain.UserID]map[string]*ports.APIToken{}}
}

var _ ports.TokenStore = (*TokenStore)(nil)

// Create stores t; ports.ErrExists if its hash, or its id for the same
// user, is taken; ports.ErrInvalidToken if t is incomplete.
func (m *TokenStore) Create(ctx context.Context, t ports.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byHash[t.Hash]; ok {
		return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
	}
	mine := m.byUser[t.User]
	if _, ok := mine[t.ID]; ok {
		return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
	}
	if mine == nil {
		mine = map[string]*ports.APIToken{}
		m.byUser[t.User] = mine
	}
	c := t
	m.byHash[t.Hash] = &c
	mine[t.ID] = &c
	return nil
}

// ByHash finds a token by secret hash.
func (m *TokenStore) ByHash(ctx context.Context, hash string) (ports.APIToken, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.byHash[hash]
	if !ok {
		return ports.APIToken{}, fmt.Errorf("token: %w", ports.ErrNotFound)
	}
	return *t, nil
}

// List returns a user's tokens newest first, ties by id.
func (m *TokenStore) List(ctx context.Context, user domain.UserID) ([]ports.APIToken, error) {
	m.mu.RLock()
	out := make([]ports.APIToken, 0, len(m.byUser[user]))
	for _, t := range m.byUser[user] {
		out = append(out, *t)
	}
	m.mu.RUnlock()
	sortTokens(out)
	return out, nil
}

// sortTokens orders tokens as TokenStore.List returns them: newest first,
// ties by id ascending.
func sortTokens(ts []ports.APIToken) {
	slices.SortFunc(ts, func(a, b ports.APIToken) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}

// Delete revokes one of the user's tokens.
func (m *TokenStore) Delete(ctx context.Context, user domain.UserID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byUser[user][id]
	if !ok {
		return fmt.Errorf("delete token %s: %w", id, ports.ErrNotFound)
	}
	delete(m.byUser[user], id)
	if len(m.byUser[user]) == 0 {
		delete(m.byUser, user)
	}
	delete(m.byHash, t.Hash)
	return nil
}

// Touch records the last use of a token.
func (m *TokenStore) Touch(ctx context.Context, hash string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byHash[hash]
	if !ok {
		return fmt.Errorf("touch token: %w", ports.ErrNotFound)
	}
	t.LastUsed = at
	return nil
}
