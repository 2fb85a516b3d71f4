package contract

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// TestTokenStore checks a ports.TokenStore: exact round trips by hash,
// ErrExists for a duplicate hash (also under concurrent creates: exactly one
// wins) or a duplicate id of the same user, refusal of invalid tokens,
// per-user newest-first lists, revocation scoped to the owner and effective
// at once, and Touch recording the last use.
func TestTokenStore(t *testing.T, newStore func(t *testing.T) ports.TokenStore) {
	newToken := func(user domain.UserID, name string, at time.Time) ports.APIToken {
		secret := "gas_" + rand.Text()
		h := sha256.Sum256([]byte(secret))
		return ports.APIToken{ID: uniq("tok"), User: user, Name: name, Hash: hex.EncodeToString(h[:]), CreatedAt: at}
	}
	same := func(t *testing.T, what string, got, want ports.APIToken) {
		t.Helper()
		if got.ID != want.ID || got.User != want.User || got.Name != want.Name || got.Hash != want.Hash ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.LastUsed.Equal(want.LastUsed) {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	ids := func(ts []ports.APIToken) []string {
		out := make([]string, len(ts))
		for i, x := range ts {
			out[i] = x.ID
		}
		return out
	}

	t.Run("CreateByHashRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		tok := newToken(domain.UserID(uniq("user")), "laptop", t0)
		must(t, s.Create(ctx, tok))
		got, err := s.ByHash(ctx, tok.Hash)
		must(t, err)
		same(t, "round trip", got, tok)
		if !got.LastUsed.IsZero() {
			t.Fatalf("a new token has LastUsed %s", got.LastUsed)
		}
	})
	t.Run("ByHashMissingIsErrNotFound", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		h := sha256.Sum256([]byte(uniq("never")))
		if _, err := s.ByHash(ctx, hex.EncodeToString(h[:])); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("DuplicatesAreErrExists", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		user := domain.UserID(uniq("user"))
		tok := newToken(user, "first", t0)
		must(t, s.Create(ctx, tok))
		sameHash := newToken(domain.UserID(uniq("other")), "thief", t0.Add(time.Second))
		sameHash.Hash = tok.Hash
		if err := s.Create(ctx, sameHash); !errors.Is(err, ports.ErrExists) {
			t.Fatalf("create with a stored hash: got %v, want ErrExists", err)
		}
		sameID := newToken(user, "second", t0.Add(time.Second))
		sameID.ID = tok.ID
		if err := s.Create(ctx, sameID); !errors.Is(err, ports.ErrExists) {
			t.Fatalf("create with the user's stored id: got %v, want ErrExists", err)
		}
		got, err := s.ByHash(ctx, tok.Hash)
		must(t, err)
		same(t, "token after refused duplicates", got, tok)
		if _, err := s.ByHash(ctx, sameID.Hash); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("a refused create stored its token: %v", err)
		}
		list, err := s.List(ctx, user)
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("user has %d tokens after refused duplicates, want 1: %v", len(list), ids(list))
		}
		// Ids are per user: another user may reuse one.
		otherUser := newToken(domain.UserID(uniq("other")), "theirs", t0)
		otherUser.ID = tok.ID
		must(t, s.Create(ctx, otherUser))
	})
	t.Run("ConcurrentCreatesOneWins", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		hash := newToken("", "", t0).Hash
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tok := newToken(domain.UserID(uniq("racer")), fmt.Sprint(i), t0)
				tok.Hash = hash
				errs[i] = s.Create(ctx, tok)
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ports.ErrExists):
				t.Fatalf("racing create: %v, want nil or ErrExists", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d racing creates of one hash won, want exactly 1", won, n)
		}
	})
	t.Run("InvalidTokensAreRefused", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		good := newToken(domain.UserID(uniq("user")), "x", t0)
		for name, mutate := range map[string]func(*ports.APIToken){
			"no id":          func(x *ports.APIToken) { x.ID = "" },
			"no user":        func(x *ports.APIToken) { x.User = "" },
			"no time":        func(x *ports.APIToken) { x.CreatedAt = time.Time{} },
			"secret as hash": func(x *ports.APIToken) { x.Hash = "gas_" + rand.Text() },
			"upper-case hex": func(x *ports.APIToken) { x.Hash = "ABCDEF" + x.Hash[6:] },
		} {
			bad := good
			mutate(&bad)
			if err := s.Create(ctx, bad); !errors.Is(err, ports.ErrInvalidToken) {
				t.Errorf("%s: got %v, want ErrInvalidToken", name, err)
			}
		}
		list, err := s.List(ctx, good.User)
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("refused tokens were stored: %v", ids(list))
		}
	})
	t.Run("ListNewestFirstPerUser", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		user, other := domain.UserID(uniq("user")), domain.UserID(uniq("other"))
		oldest := newToken(user, "oldest", t0)
		newest := newToken(user, "newest", t0.Add(2*time.Hour))
		tieA := newToken(user, "tie a", t0.Add(time.Hour))
		tieB := newToken(user, "tie b", t0.Add(time.Hour))
		tieA.ID, tieB.ID = "a-"+tieA.ID, "b-"+tieB.ID
		for _, x := range []ports.APIToken{tieB, oldest, newest, tieA, newToken(other, "not mine", t0.Add(3*time.Hour))} {
			must(t, s.Create(ctx, x))
		}
		list, err := s.List(ctx, user)
		must(t, err)
		want := []ports.APIToken{newest, tieA, tieB, oldest}
		if len(list) != len(want) {
			t.Fatalf("listed %v, want %v", ids(list), ids(want))
		}
		for i := range want {
			same(t, fmt.Sprintf("list[%d] (listed %v)", i, ids(list)), list[i], want[i])
		}
		empty, err := s.List(ctx, domain.UserID(uniq("nobody")))
		must(t, err)
		if len(empty) != 0 {
			t.Fatalf("a user without tokens lists %v", ids(empty))
		}
	})
	t.Run("DeleteIsScopedToOwnerAndImmediate", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		owner, other := domain.UserID(uniq("owner")), domain.UserID(uniq("other"))
		tok, keep := newToken(owner, "revoke me", t0), newToken(owner, "keep me", t0.Add(time.Minute))
		must(t, s.Create(ctx, tok))
		must(t, s.Create(ctx, keep))
		if err := s.Delete(ctx, other, tok.ID); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("another user revoking the token: got %v, want ErrNotFound", err)
		}
		if _, err := s.ByHash(ctx, tok.Hash); err != nil {
			t.Fatalf("token gone after another user's revoke: %v", err)
		}
		must(t, s.Delete(ctx, owner, tok.ID))
		if _, err := s.ByHash(ctx, tok.Hash); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("revoked token still authenticates: %v", err)
		}
		if err := s.Delete(ctx, owner, tok.ID); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("second revoke: got %v, want ErrNotFound", err)
		}
		if err := s.Touch(ctx, tok.Hash, t0.Add(time.Hour)); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("touching a revoked token: got %v, want ErrNotFound", err)
		}
		list, err := s.List(ctx, owner)
		must(t, err)
		if len(list) != 1 || list[0].ID != keep.ID {
			t.Fatalf("after revoke the owner lists %v, want [%s]", ids(list), keep.ID)
		}
		// The revoked hash and id are free again.
		must(t, s.Create(ctx, tok))
	})
	t.Run("TouchRecordsLastUse", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		tok := newToken(domain.UserID(uniq("user")), "ci", t0)
		must(t, s.Create(ctx, tok))
		used := t0.Add(36*time.Hour + 123*time.Millisecond)
		must(t, s.Touch(ctx, tok.Hash, used))
		got, err := s.ByHash(ctx, tok.Hash)
		must(t, err)
		tok.LastUsed = used
		same(t, "after Touch", got, tok)
		list, err := s.List(ctx, tok.User)
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("listed %v", ids(list))
		}
		same(t, "listed after Touch", list[0], tok)
		h := sha256.Sum256([]byte(uniq("never")))
		if err := s.Touch(ctx, hex.EncodeToString(h[:]), used); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("touching an unknown token: got %v, want ErrNotFound", err)
		}
	})
}
