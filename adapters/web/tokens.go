package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// APIToken is a personal API token as stored (only the SHA-256 of the
// secret); the type lives in ports so every TokenStore shares it.
type APIToken = ports.APIToken

// TokenStore keeps personal API tokens. It is ports.TokenStore (memory in
// local mode, a DynamoDB table on AWS); the alias keeps web.Deps readable
// and existing callers compiling.
type TokenStore = ports.TokenStore

// tokenPrefix marks GAS tokens so secret scanners and people recognise them.
const tokenPrefix = "gas_"

// hashToken is the stored form of a token secret.
func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// MemoryTokenStore is memory.MemoryTokenStore, kept here so wiring and
// tests written against the web package's store still compile; new code
// uses the memory adapter directly.
type MemoryTokenStore = memory.TokenStore

// NewMemoryTokenStore forwards to memory.NewMemoryTokenStore.
func NewMemoryTokenStore() *MemoryTokenStore { return memory.NewTokenStore() }

// touchEvery is how stale a token's recorded last use may get.
const touchEvery = time.Minute

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
	// The profile shows last use to the minute: recording every request of
	// a busy script would make every API read a store write.
	if now := s.d.Clock.Now(); now.Sub(t.LastUsed) >= touchEvery {
		_ = s.d.Tokens.Touch(ctx, hash, now)
	}
	return s.d.Accounts.Profile(ctx, t.User)
}

// revealMark starts a flash that carries a new token to the profile page
// (a NUL never occurs in a message or token name).
const revealMark = "\x00new-token\x00"

// revealFlash is the one-time flash that shows token name's secret.
func revealFlash(name, secret string) string { return revealMark + name + "\x00" + secret }

// parseReveal reads a revealFlash; ok is false for an ordinary message.
func parseReveal(flash string) (name, secret string, ok bool) {
	rest, ok := strings.CutPrefix(flash, revealMark)
	if !ok {
		return "", "", false
	}
	name, secret, ok = strings.Cut(rest, "\x00")
	return name, secret, ok && strings.HasPrefix(secret, tokenPrefix)
}
