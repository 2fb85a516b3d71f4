package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// APIToken is a personal API token as stored: only the SHA-256 of the
// secret is kept, so a leaked store does not leak usable tokens.
type APIToken struct {
	ID        string
	User      domain.UserID
	Name      string
	Hash      string // hex SHA-256 of the secret
	CreatedAt time.Time
	LastUsed  time.Time
}

// TokenStore keeps personal API tokens. It is a port of the web adapter
// (candidate for ports/ when another adapter needs it): memory in local
// mode, a table on AWS.
type TokenStore interface {
	// Create stores a new token.
	Create(ctx context.Context, t APIToken) error
	// ByHash finds the token with the given secret hash; ports.ErrNotFound if none.
	ByHash(ctx context.Context, hash string) (APIToken, error)
	// List returns a user's tokens, newest first.
	List(ctx context.Context, user domain.UserID) ([]APIToken, error)
	// Delete removes a user's token; ports.ErrNotFound if the user has no such token.
	Delete(ctx context.Context, user domain.UserID, id string) error
	// Touch records that a token was used.
	Touch(ctx context.Context, hash string, at time.Time) error
}

// tokenPrefix marks GAS tokens so secret scanners and people recognise them.
const tokenPrefix = "gas_"

// hashToken is the stored form of a token secret.
func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// MemoryTokenStore is the in-memory TokenStore for local mode and tests.
type MemoryTokenStore struct {
	mu     sync.Mutex
	byHash map[string]*APIToken
}

// NewMemoryTokenStore makes an empty store.
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{byHash: map[string]*APIToken{}}
}

var _ TokenStore = (*MemoryTokenStore)(nil)

// Create stores t; ports.ErrExists if its hash or id is taken.
func (m *MemoryTokenStore) Create(ctx context.Context, t APIToken) error {
	if t.ID == "" || t.User == "" || len(t.Hash) != 64 {
		return fmt.Errorf("create token: id, user and hash are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byHash[t.Hash]; ok {
		return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
	}
	for _, o := range m.byHash {
		if o.ID == t.ID {
			return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
		}
	}
	c := t
	m.byHash[t.Hash] = &c
	return nil
}

// ByHash finds a token by secret hash.
func (m *MemoryTokenStore) ByHash(ctx context.Context, hash string) (APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byHash[hash]
	if !ok {
		return APIToken{}, fmt.Errorf("token: %w", ports.ErrNotFound)
	}
	return *t, nil
}

// List returns a user's tokens newest first.
func (m *MemoryTokenStore) List(ctx context.Context, user domain.UserID) ([]APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []APIToken
	for _, t := range m.byHash {
		if t.User == user {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Delete removes one of the user's tokens.
func (m *MemoryTokenStore) Delete(ctx context.Context, user domain.UserID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, t := range m.byHash {
		if t.ID == id && t.User == user {
			delete(m.byHash, h)
			return nil
		}
	}
	return fmt.Errorf("delete token %s: %w", id, ports.ErrNotFound)
}

// Touch records the last use of a token.
func (m *MemoryTokenStore) Touch(ctx context.Context, hash string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.byHash[hash]; ok {
		t.LastUsed = at
		return nil
	}
	return fmt.Errorf("touch token: %w", ports.ErrNotFound)
}

// errNoToken means the request carried no bearer token.
var errNoToken = errors.New("no bearer token")

// bearerUser resolves the request's bearer token to its user.
func (s *Server) bearerUser(ctx context.Context, header string) (*domain.User, error) {
	const p = "Bearer "
	if len(header) <= len(p) || !strings.EqualFold(header[:len(p)], p) {
		return nil, errNoToken
	}
	secret := strings.TrimSpace(header[len(p):])
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, fmt.Errorf("token: %w", ports.ErrNotFound)
	}
	hash := hashToken(secret)
	t, err := s.d.Tokens.ByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	_ = s.d.Tokens.Touch(ctx, hash, s.d.Clock.Now())
	return s.d.Accounts.Profile(ctx, t.User)
}
