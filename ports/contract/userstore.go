package contract

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func userJSON(t *testing.T, u *domain.User) string {
	t.Helper()
	b, err := json.Marshal(u.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUserStore checks a ports.UserStore: exact round trips, replace on
// Put, ErrNotFound for users who never signed in, and isolation of values.
func TestUserStore(t *testing.T, newStore func(t *testing.T) ports.UserStore) {
	newUser := func(t *testing.T) *domain.User {
		u, err := domain.NewUser(domain.UserID(uniq("user")), "Ada Lovelace", "ada@example.org", "Analytical Engines Ltd", t0)
		must(t, err)
		return u
	}
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Put(ctx, u))
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if a, b := userJSON(t, got), userJSON(t, u); a != b {
			t.Fatalf("round trip changed the profile:\n got %s\nwant %s", a, b)
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Put(ctx, u))
		must(t, u.Upgrade(t0.Add(time.Hour)))
		must(t, u.UpdateContact("Ada King", "ada.king@example.org", "Royal Society"))
		must(t, s.Put(ctx, u))
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if !got.Premium() || got.Email() != "ada.king@example.org" || !got.UpgradedAt().Equal(t0.Add(time.Hour)) {
			t.Fatalf("replaced profile not stored: %s", userJSON(t, got))
		}
		must(t, u.Downgrade())
		must(t, s.Put(ctx, u))
		got, err = s.Get(ctx, u.ID())
		must(t, err)
		if got.Premium() {
			t.Fatalf("downgrade not stored")
		}
	})
	t.Run("GetMissingIsErrNotFound", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		if _, err := s.Get(ctx, domain.UserID(uniq("nobody"))); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("ValuesAreIsolated", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Put(ctx, u))
		must(t, u.Upgrade(t0))
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if got.Premium() {
			t.Fatalf("mutating a stored profile changed the store")
		}
		must(t, got.Upgrade(t0))
		again, err := s.Get(ctx, u.ID())
		must(t, err)
		if again.Premium() {
			t.Fatalf("mutating a fetched profile changed the store")
		}
	})
	t.Run("UsersAreSeparate", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		a, b := newUser(t), newUser(t)
		must(t, b.Upgrade(t0))
		must(t, s.Put(ctx, a))
		must(t, s.Put(ctx, b))
		ga, err := s.Get(ctx, a.ID())
		must(t, err)
		gb, err := s.Get(ctx, b.ID())
		must(t, err)
		if ga.Premium() || !gb.Premium() || ga.ID() == gb.ID() {
			t.Fatalf("profiles mixed up: %s / %s", userJSON(t, ga), userJSON(t, gb))
		}
	})
}
