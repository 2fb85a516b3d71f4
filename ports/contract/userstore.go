package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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

// TestUserStore checks a ports.UserStore: exact round trips, ErrExists on a
// second Create, Update conditional on the version (ErrConflict when stale,
// exactly one of concurrent updaters wins), ErrNotFound for users who never
// signed in, isolation of values, and List paging through every profile
// once (a store shared with other tests may list theirs too).
func TestUserStore(t *testing.T, newStore func(t *testing.T) ports.UserStore) {
	newUser := func(t *testing.T) *domain.User {
		u, err := domain.NewUser(domain.UserID(uniq("user")), "Ada Lovelace", "ada@example.org", "Analytical Engines Ltd", t0)
		must(t, err)
		return u
	}
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Create(ctx, u))
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if a, b := userJSON(t, got), userJSON(t, u); a != b {
			t.Fatalf("round trip changed the profile:\n got %s\nwant %s", a, b)
		}
	})
	t.Run("UpdateReplaces", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Create(ctx, u))
		must(t, u.Upgrade(t0.Add(time.Hour)))
		must(t, u.UpdateContact("Ada King", "ada.king@example.org", "Royal Society"))
		u, err := s.Update(ctx, u)
		must(t, err)
		if u.Version() != 1 {
			t.Fatalf("version after first update = %d, want 1", u.Version())
		}
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if !got.Premium() || got.Email() != "ada.king@example.org" || !got.UpgradedAt().Equal(t0.Add(time.Hour)) {
			t.Fatalf("replaced profile not stored: %s", userJSON(t, got))
		}
		if a, b := userJSON(t, got), userJSON(t, u); a != b {
			t.Fatalf("Update returned a different profile from the stored one:\n got %s\nwant %s", a, b)
		}
		must(t, u.Downgrade(t0.Add(2*time.Hour)))
		u, err = s.Update(ctx, u)
		must(t, err)
		got, err = s.Get(ctx, u.ID())
		must(t, err)
		if got.Premium() || !got.DowngradedAt().Equal(t0.Add(2*time.Hour)) || !got.UpgradedAt().Equal(t0.Add(time.Hour)) {
			t.Fatalf("downgrade not stored: %s", userJSON(t, got))
		}
		if got.Version() != 2 || u.Version() != 2 {
			t.Fatalf("version after second update: stored %d, returned %d, want 2", got.Version(), u.Version())
		}
	})
	t.Run("CreateExistingIsErrExists", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Create(ctx, u))
		again, err := domain.NewUser(u.ID(), "Someone Else", "", "", t0.Add(time.Hour))
		must(t, err)
		must(t, again.Upgrade(t0))
		if err := s.Create(ctx, again); !errors.Is(err, ports.ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if a, b := userJSON(t, got), userJSON(t, u); a != b {
			t.Fatalf("a refused create changed the profile:\n got %s\nwant %s", a, b)
		}
	})
	t.Run("StaleUpdateIsErrConflict", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Create(ctx, u))
		a, err := s.Get(ctx, u.ID())
		must(t, err)
		b, err := s.Get(ctx, u.ID())
		must(t, err)
		must(t, a.Upgrade(t0.Add(time.Hour)))
		_, err = s.Update(ctx, a)
		must(t, err)
		must(t, b.UpdateContact("Ada King", "ada.king@example.org", ""))
		if _, err := s.Update(ctx, b); !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if !got.Premium() || got.Email() != u.Email() || got.Version() != 1 {
			t.Fatalf("a stale update changed the profile: %s", userJSON(t, got))
		}
		// Re-applied to the latest copy, the change goes through.
		must(t, got.UpdateContact("Ada King", "ada.king@example.org", ""))
		_, err = s.Update(ctx, got)
		must(t, err)
		got, err = s.Get(ctx, u.ID())
		must(t, err)
		if !got.Premium() || got.Email() != "ada.king@example.org" || got.Version() != 2 {
			t.Fatalf("retried update not stored: %s", userJSON(t, got))
		}
	})
	t.Run("UpdateMissingIsErrNotFound", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		if _, err := s.Update(ctx, u); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("update of a missing profile: %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, u.ID()); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("a refused update created the profile: %v", err)
		}
	})
	t.Run("ConcurrentUpdatersExactlyOneWins", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		u := newUser(t)
		must(t, s.Create(ctx, u))
		const n = 8
		copies := make([]*domain.User, n)
		for i := range copies {
			c, err := s.Get(ctx, u.ID())
			must(t, err)
			must(t, c.UpdateContact(fmt.Sprintf("Writer %d", i), "", ""))
			copies[i] = c
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, c := range copies {
			wg.Go(func() { _, errs[i] = s.Update(ctx, c) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ports.ErrConflict):
				t.Fatalf("writer %d: %v, want ErrConflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		got, err := s.Get(ctx, u.ID())
		must(t, err)
		if got.Name() != fmt.Sprintf("Writer %d", winner) || got.Version() != 1 {
			t.Fatalf("stored %s, want writer %d at version 1", userJSON(t, got), winner)
		}
	})
	t.Run("ListPagesThroughEveryProfile", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		want := map[domain.UserID]*domain.User{}
		for i := range 7 {
			u := newUser(t)
			if i%2 == 0 {
				must(t, u.Upgrade(t0))
			}
			must(t, s.Create(ctx, u))
			want[u.ID()] = u
		}
		seen := map[domain.UserID]int{}
		cursor, pages := "", 0
		for {
			us, next, err := s.List(ctx, cursor, 3)
			must(t, err)
			if len(us) > 3 {
				t.Fatalf("a page of %d profiles, limit 3", len(us))
			}
			pages++
			for _, u := range us {
				seen[u.ID()]++
				if w, ok := want[u.ID()]; ok && userJSON(t, u) != userJSON(t, w) {
					t.Fatalf("listed %s, stored %s", userJSON(t, u), userJSON(t, w))
				}
			}
			if next == "" {
				break
			}
			if pages > 1000 {
				t.Fatal("List never ends")
			}
			cursor = next
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("profile %s listed %d times, want once", id, seen[id])
			}
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
		must(t, s.Create(ctx, u))
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
		must(t, s.Create(ctx, a))
		must(t, s.Create(ctx, b))
		ga, err := s.Get(ctx, a.ID())
		must(t, err)
		gb, err := s.Get(ctx, b.ID())
		must(t, err)
		if ga.Premium() || !gb.Premium() || ga.ID() == gb.ID() {
			t.Fatalf("profiles mixed up: %s / %s", userJSON(t, ga), userJSON(t, gb))
		}
	})
}
