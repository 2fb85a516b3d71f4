package contract

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// TestSessionStore checks a ports.SessionStore: exact round trips, expiry
// honoured on every read, ErrExists for a taken id (exactly one of
// concurrent creates wins), refusal of invalid sessions, and ending one
// session or every session of a user at once without touching others.
// Subtests create sessions at t0 or after, expiring at t0+1h or later, so
// a store that sweeps sessions expired at a creation's time never sweeps
// another subtest's live ones.
func TestSessionStore(t *testing.T, newStore func(t *testing.T) ports.SessionStore) {
	newSession := func(user domain.UserID, at time.Time, ttl time.Duration) ports.Session {
		h := sha256.Sum256([]byte(rand.Text()))
		return ports.Session{ID: hex.EncodeToString(h[:]), User: user, CreatedAt: at, ExpiresAt: at.Add(ttl)}
	}
	same := func(t *testing.T, what string, got, want ports.Session) {
		t.Helper()
		if got.ID != want.ID || got.User != want.User || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	gone := func(t *testing.T, s ports.SessionStore, id string, now time.Time, why string) {
		t.Helper()
		if got, err := s.Get(ctxFor(t), id, now); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("%s: Get returned %+v, %v; want ErrNotFound", why, got, err)
		}
	}

	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		want := newSession(domain.UserID(uniq("user")), t0, 12*time.Hour)
		must(t, s.Create(ctx, want))
		got, err := s.Get(ctx, want.ID, t0.Add(time.Hour))
		must(t, err)
		same(t, "round trip", got, want)
	})
	t.Run("ExpiredIsErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		sess := newSession(domain.UserID(uniq("user")), t0, time.Hour)
		must(t, s.Create(ctx, sess))
		_, err := s.Get(ctx, sess.ID, sess.ExpiresAt.Add(-time.Millisecond))
		must(t, err)
		gone(t, s, sess.ID, sess.ExpiresAt, "at its expiry")
		gone(t, s, sess.ID, sess.ExpiresAt.Add(24*time.Hour), "a day after its expiry")
	})
	t.Run("MissingIsErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		gone(t, s, newSession("nobody", t0, time.Hour).ID, t0, "never created")
	})
	t.Run("DuplicateIsErrExists", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		first := newSession(domain.UserID(uniq("user")), t0, time.Hour)
		must(t, s.Create(ctx, first))
		thief := newSession(domain.UserID(uniq("thief")), t0, 48*time.Hour)
		thief.ID = first.ID
		if err := s.Create(ctx, thief); !errors.Is(err, ports.ErrExists) {
			t.Fatalf("create with a taken id: got %v, want ErrExists", err)
		}
		got, err := s.Get(ctx, first.ID, t0)
		must(t, err)
		same(t, "session after a refused duplicate", got, first)
	})
	t.Run("ConcurrentCreatesOneWins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		base := newSession(domain.UserID(uniq("user")), t0, time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, exists := 0, 0
		for i := range 8 {
			wg.Go(func() {
				c := base
				c.User = domain.UserID(uniq("racer"))
				c.ExpiresAt = c.ExpiresAt.Add(time.Duration(i) * time.Minute)
				err := s.Create(ctxFor(t), c)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, ports.ErrExists):
					exists++
				default:
					t.Errorf("concurrent create: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || exists != 7 {
			t.Fatalf("%d creates won and %d got ErrExists; want 1 and 7", wins, exists)
		}
	})
	t.Run("InvalidIsRefused", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		good := newSession(domain.UserID(uniq("user")), t0, time.Hour)
		for name, bad := range map[string]func(*ports.Session){
			"secret instead of hash": func(x *ports.Session) { x.ID = "gas-session-secret" },
			"upper-case hash":        func(x *ports.Session) { x.ID = "AB" + x.ID[2:] },
			"no user":                func(x *ports.Session) { x.User = "" },
			"no creation time":       func(x *ports.Session) { x.CreatedAt = time.Time{} },
			"expires before created": func(x *ports.Session) { x.ExpiresAt = x.CreatedAt.Add(-time.Second) },
		} {
			c := good
			bad(&c)
			if err := s.Create(ctx, c); !errors.Is(err, ports.ErrInvalidSession) {
				t.Errorf("%s: got %v, want ErrInvalidSession", name, err)
			}
		}
		gone(t, s, good.ID, t0, "after refused creates with its id")
	})
	t.Run("DeleteEndsOneSession", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		user := domain.UserID(uniq("user"))
		laptop, phone := newSession(user, t0, time.Hour), newSession(user, t0, time.Hour)
		must(t, s.Create(ctx, laptop))
		must(t, s.Create(ctx, phone))
		must(t, s.Delete(ctx, laptop.ID))
		gone(t, s, laptop.ID, t0, "after Delete")
		got, err := s.Get(ctx, phone.ID, t0)
		must(t, err)
		same(t, "the user's other session", got, phone)
		must(t, s.Delete(ctx, laptop.ID)) // ending it again is harmless
		must(t, s.Delete(ctx, newSession(user, t0, time.Hour).ID))
	})
	t.Run("DeleteUserEndsEverySessionOfTheUser", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), ctxFor(t)
		user, other := domain.UserID(uniq("user")), domain.UserID(uniq("other"))
		var mine []ports.Session
		for i := range 30 {
			x := newSession(user, t0.Add(time.Duration(i)*time.Second), time.Hour)
			must(t, s.Create(ctx, x))
			mine = append(mine, x)
		}
		theirs := newSession(other, t0, time.Hour)
		must(t, s.Create(ctx, theirs))
		must(t, s.DeleteUser(ctx, user))
		for _, x := range mine {
			gone(t, s, x.ID, t0.Add(time.Minute), "after DeleteUser")
		}
		got, err := s.Get(ctx, theirs.ID, t0)
		must(t, err)
		same(t, "another user's session", got, theirs)
		must(t, s.DeleteUser(ctx, user))                          // nothing left: not an error
		must(t, s.DeleteUser(ctx, domain.UserID(uniq("nobody")))) // never signed in
		after := newSession(user, t0, time.Hour)
		must(t, s.Create(ctx, after)) // signing in again works
		_, err = s.Get(ctx, after.ID, t0)
		must(t, err)
	})
}
