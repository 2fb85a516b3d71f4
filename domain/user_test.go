package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func newUser(t *testing.T, premium bool) *User {
	t.Helper()
	u, err := NewUser("u1", " Ada ", "ada@example.org", " Lab ", t0)
	if err != nil {
		t.Fatal(err)
	}
	if premium {
		if err := u.Upgrade(t0); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// TestUserTransitions covers every plan change from both plans.
func TestUserTransitions(t *testing.T) {
	later := t0.Add(time.Hour)
	cases := []struct {
		premium  bool
		action   string
		wantErr  error
		wantTier Tier
	}{
		{false, "upgrade", nil, TierPremium},
		{false, "downgrade", ErrNotPremium, TierFree},
		{true, "upgrade", ErrAlreadyPremium, TierPremium},
		{true, "downgrade", nil, TierFree},
	}
	for _, c := range cases {
		u := newUser(t, c.premium)
		before := u.Snapshot()
		var err error
		if c.action == "upgrade" {
			err = u.Upgrade(later)
		} else {
			err = u.Downgrade(t0)
		}
		if !errors.Is(err, c.wantErr) || u.Tier() != c.wantTier || u.Premium() != (c.wantTier == TierPremium) {
			t.Errorf("premium=%v %s: err %v tier %s; want %v %s", c.premium, c.action, err, u.Tier(), c.wantErr, c.wantTier)
		}
		if c.wantErr != nil && !reflect.DeepEqual(before, u.Snapshot()) {
			t.Errorf("premium=%v refused %s changed the profile", c.premium, c.action)
		}
		if c.action == "upgrade" && c.wantErr == nil && !u.UpgradedAt().Equal(later) {
			t.Errorf("upgrade time %s", u.UpgradedAt())
		}
	}
}

func TestNewUser(t *testing.T) {
	u := newUser(t, false)
	if u.ID() != "u1" || u.Name() != "Ada" || u.Institution() != "Lab" || u.Email() != "ada@example.org" ||
		u.Tier() != TierFree || !u.CreatedAt().Equal(t0) || !u.UpgradedAt().IsZero() {
		t.Fatalf("new user %+v", u.Snapshot())
	}
	if _, err := NewUser("", "n", "", "", t0); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("empty id: %v", err)
	}
	if _, err := NewUser("u", "n", "not an address", "", t0); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("bad e-mail: %v", err)
	}
	if _, err := NewUser("u", "n", "", "", time.Time{}); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("zero time: %v", err)
	}
	if u, err := NewUser("u", "n", "", "", t0); err != nil || u.Email() != "" {
		t.Errorf("no e-mail is allowed: %v", err)
	}
}

func TestUpdateContactKeepsTier(t *testing.T) {
	u := newUser(t, true)
	if err := u.UpdateContact("Ada L", "ada@lab.org", "Lab 2"); err != nil {
		t.Fatal(err)
	}
	if u.Name() != "Ada L" || u.Email() != "ada@lab.org" || u.Institution() != "Lab 2" || !u.Premium() {
		t.Fatalf("after update %+v", u.Snapshot())
	}
	before := u.Snapshot()
	if err := u.UpdateContact("x", "bad address", "y"); !errors.Is(err, ErrInvalidUser) || !reflect.DeepEqual(before, u.Snapshot()) {
		t.Fatalf("invalid e-mail: %v", err)
	}
}

func TestUserSnapshotRoundTrip(t *testing.T) {
	u := newUser(t, true)
	back, err := RestoreUser(u.Snapshot())
	if err != nil || !reflect.DeepEqual(back.Snapshot(), u.Snapshot()) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := RestoreUser(UserSnapshot{ID: "u", Tier: "GOLD"}); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("unknown tier: %v", err)
	}
	if _, err := RestoreUser(UserSnapshot{Tier: TierFree}); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("no id: %v", err)
	}
}
