package accounts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
	"github.com/gasproject/gas/ports/mocks"
)

var ctx = context.Background()

type fixture struct {
	svc     *accounts.Service
	users   *memory.UserStore
	billing *mocks.BillingMock
	thaws   *mocks.PublisherMock
	subs    map[domain.UserID]bool
	failPub error
	failSub error
	clock   *memory.FakeClock
}

func newFixture() *fixture {
	f := &fixture{users: memory.NewUserStore(), subs: map[domain.UserID]bool{}, clock: memory.NewFakeClock(time.Time{})}
	f.billing = &mocks.BillingMock{
		SubscribeFunc: func(_ context.Context, u domain.UserID) error {
			if f.failSub != nil {
				return f.failSub
			}
			f.subs[u] = true
			return nil
		},
		CancelFunc: func(_ context.Context, u domain.UserID) error { delete(f.subs, u); return nil },
	}
	f.thaws = &mocks.PublisherMock{PublishFunc: func(context.Context, []byte) error { return f.failPub }}
	f.svc = accounts.NewService(f.users, f.billing, f.thaws, f.clock)
	return f
}

func TestSignInCreatesFreeProfileThenUpdatesContact(t *testing.T) {
	f := newFixture()
	u, err := f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada", Email: "ada@x.org", Institution: "Lab"})
	if err != nil || u.Tier() != domain.TierFree || u.Email() != "ada@x.org" {
		t.Fatalf("first sign-in: %v %+v", err, u)
	}
	if _, err := f.svc.Upgrade(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	u, err = f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L", Email: "ada@lab.org"})
	if err != nil || u.Name() != "Ada L" || u.Email() != "ada@lab.org" || !u.Premium() {
		t.Fatalf("second sign-in: %v %+v", err, u.Snapshot())
	}
	if _, err := f.svc.SignIn(ctx, ports.Identity{Subject: "s2", Email: "not an address"}); !errors.Is(err, domain.ErrInvalidUser) {
		t.Fatalf("invalid e-mail: %v", err)
	}
	if _, err := f.svc.Profile(ctx, "nobody"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("unknown profile: %v", err)
	}
}

// An unchanged sign-in writes nothing, so it cannot overwrite a concurrent upgrade.
func TestSignInWithoutChangesDoesNotWrite(t *testing.T) {
	f := newFixture()
	id := ports.Identity{Subject: "s1", Name: "Ada"}
	f.svc.SignIn(ctx, id)
	var puts int
	users := &mocks.UserStoreMock{GetFunc: f.users.Get,
		CreateFunc: func(ctx context.Context, u *domain.User) error { puts++; return f.users.Create(ctx, u) },
		UpdateFunc: func(ctx context.Context, u *domain.User) (*domain.User, error) { puts++; return f.users.Update(ctx, u) }}
	svc := accounts.NewService(users, f.billing, f.thaws, f.clock)
	if _, err := svc.SignIn(ctx, id); err != nil || puts != 0 {
		t.Fatalf("err %v, %d writes", err, puts)
	}
}

func TestUpgradeChargesSetsTierAndRequestsThaw(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	f.clock.Advance(time.Hour)
	u, err := f.svc.Upgrade(ctx, "s1")
	if err != nil || !u.Premium() || !f.subs["s1"] || !u.UpgradedAt().Equal(f.clock.Now()) {
		t.Fatalf("upgrade: %v %+v", err, u.Snapshot())
	}
	calls := f.thaws.PublishCalls()
	if len(calls) != 1 {
		t.Fatalf("%d thaw requests", len(calls))
	}
	m, err := message.Decode(calls[0].Body)
	if err != nil || m.Kind != message.KindThaw || m.User != "s1" {
		t.Fatalf("thaw request %+v %v", m, err)
	}
	stored, _ := f.users.Get(ctx, "s1")
	if !stored.Premium() {
		t.Fatal("tier not stored")
	}
}

func TestUpgradeBillingFailureChangesNothing(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	f.failSub = errors.New("card declined")
	if _, err := f.svc.Upgrade(ctx, "s1"); err == nil {
		t.Fatal("billing failure not reported")
	}
	if u, _ := f.users.Get(ctx, "s1"); u.Premium() || len(f.thaws.PublishCalls()) != 0 {
		t.Fatal("failed payment still upgraded or thawed")
	}
}

// A thaw request that fails to publish is reported, and retrying the
// upgrade publishes it without charging again.
func TestUpgradeRetryAfterPublishFailure(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	f.failPub = errors.New("topic down")
	if _, err := f.svc.Upgrade(ctx, "s1"); err == nil {
		t.Fatal("publish failure not reported")
	}
	f.failPub = nil
	if _, err := f.svc.Upgrade(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.billing.SubscribeCalls()); n != 1 {
		t.Fatalf("charged %d times", n)
	}
	if n := len(f.thaws.PublishCalls()); n != 2 {
		t.Fatalf("%d publish attempts", n)
	}
}

func TestUpgradeStoreFailurePublishesNothing(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	users := &mocks.UserStoreMock{GetFunc: f.users.Get, UpdateFunc: func(context.Context, *domain.User) (*domain.User, error) { return nil, errors.New("db down") }}
	svc := accounts.NewService(users, f.billing, f.thaws, f.clock)
	if _, err := svc.Upgrade(ctx, "s1"); err == nil {
		t.Fatal("store failure not reported")
	}
	if len(f.thaws.PublishCalls()) != 0 {
		t.Fatal("thaw requested for an upgrade that was not saved")
	}
}

func TestDowngrade(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	if u, err := f.svc.Downgrade(ctx, "s1"); err != nil || u.Premium() || len(f.billing.CancelCalls()) != 0 {
		t.Fatalf("downgrading a free user: %v", err)
	}
	f.svc.Upgrade(ctx, "s1")
	u, err := f.svc.Downgrade(ctx, "s1")
	if err != nil || u.Premium() || f.subs["s1"] {
		t.Fatalf("downgrade: %v", err)
	}
	if stored, _ := f.users.Get(ctx, "s1"); stored.Premium() {
		t.Fatal("tier not stored")
	}
}

// interleaved is a user store that runs between, once, after the read
// numbered at (1-based), as if another request's write landed there.
type interleaved struct {
	ports.UserStore
	at, reads int
	between   func()
}

func (s *interleaved) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.UserStore.Get(ctx, id)
	s.reads++
	if s.reads == s.at && s.between != nil {
		s.between()
	}
	return u, err
}

// An upgrade written after a sign-in read the profile survives the
// sign-in's write: the sign-in re-reads and changes only contact fields.
func TestSignInKeepsConcurrentUpgrade(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada", Email: "ada@x.org"})
	users := &interleaved{UserStore: f.users, at: 1, between: func() {
		if _, err := f.svc.Upgrade(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
	}}
	svc := accounts.NewService(users, f.billing, f.thaws, f.clock)
	u, err := svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L", Email: "ada@lab.org", Institution: "Lab"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.users.Get(ctx, "s1")
	if !stored.Premium() || !u.Premium() {
		t.Fatalf("the concurrent upgrade was overwritten: stored %+v, returned %+v", stored.Snapshot(), u.Snapshot())
	}
	if stored.Name() != "Ada L" || stored.Email() != "ada@lab.org" || stored.Institution() != "Lab" {
		t.Fatalf("contact not updated: %+v", stored.Snapshot())
	}
}

// Contact details a sign-in wrote while an upgrade or downgrade waited for
// billing survive the plan change: it re-reads after billing and changes
// only the plan.
func TestPlanChangeKeepsConcurrentSignIn(t *testing.T) {
	for _, change := range []string{"upgrade", "downgrade"} {
		t.Run(change, func(t *testing.T) {
			f := newFixture()
			f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada", Email: "ada@x.org"})
			if change == "downgrade" {
				f.svc.Upgrade(ctx, "s1")
			}
			signIn := func() {
				if _, err := f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L", Email: "ada@lab.org"}); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			var u *domain.User
			if change == "upgrade" {
				f.billing.SubscribeFunc = func(context.Context, domain.UserID) error { signIn(); return nil }
				u, err = f.svc.Upgrade(ctx, "s1")
			} else {
				f.billing.CancelFunc = func(context.Context, domain.UserID) error { signIn(); return nil }
				u, err = f.svc.Downgrade(ctx, "s1")
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := f.users.Get(ctx, "s1")
			if stored.Premium() != (change == "upgrade") || u.Premium() != stored.Premium() {
				t.Fatalf("plan not changed: %+v", stored.Snapshot())
			}
			if stored.Name() != "Ada L" || stored.Email() != "ada@lab.org" || u.Email() != "ada@lab.org" {
				t.Fatalf("the concurrent sign-in's contact was overwritten: %+v", stored.Snapshot())
			}
		})
	}
}

// racing is a user store that runs between, once, just before the first
// Update reaches the store: another request's write landing between this
// request's read and its conditional write.
type racing struct {
	ports.UserStore
	between func()
	updates int
}

func (s *racing) Update(ctx context.Context, u *domain.User) (*domain.User, error) {
	s.updates++
	if s.updates == 1 && s.between != nil {
		s.between()
	}
	return s.UserStore.Update(ctx, u)
}

// A sign-in and a plan change whose writes interleave between the other's
// read and write both survive: the loser's conditional write conflicts and
// it re-applies its own change to the winner's profile.
func TestConcurrentPlanChangeAndSignInBothSurvive(t *testing.T) {
	for _, tc := range []struct{ first, second string }{
		{"sign-in", "upgrade"}, {"upgrade", "sign-in"}, {"sign-in", "downgrade"}, {"downgrade", "sign-in"},
	} {
		t.Run(tc.first+" interrupted by "+tc.second, func(t *testing.T) {
			f := newFixture()
			f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada", Email: "ada@x.org"})
			wantPremium := true
			if tc.first == "downgrade" || tc.second == "downgrade" {
				if _, err := f.svc.Upgrade(ctx, "s1"); err != nil {
					t.Fatal(err)
				}
				wantPremium = false
			}
			run := func(svc *accounts.Service, op string) (*domain.User, error) {
				switch op {
				case "upgrade":
					return svc.Upgrade(ctx, "s1")
				case "downgrade":
					return svc.Downgrade(ctx, "s1")
				}
				return svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L", Email: "ada@lab.org", Institution: "Lab"})
			}
			users := &racing{UserStore: f.users, between: func() {
				if _, err := run(f.svc, tc.second); err != nil {
					t.Fatal(err)
				}
			}}
			u, err := run(accounts.NewService(users, f.billing, f.thaws, f.clock), tc.first)
			if err != nil {
				t.Fatal(err)
			}
			if users.updates != 2 {
				t.Fatalf("%d writes by the interrupted %s, want a conflict and one retry", users.updates, tc.first)
			}
			stored, _ := f.users.Get(ctx, "s1")
			if stored.Premium() != wantPremium || u.Premium() != wantPremium {
				t.Fatalf("plan change lost: stored %+v, returned %+v", stored.Snapshot(), u.Snapshot())
			}
			if stored.Name() != "Ada L" || stored.Email() != "ada@lab.org" || stored.Institution() != "Lab" || u.Email() != "ada@lab.org" {
				t.Fatalf("sign-in's contact lost: stored %+v, returned %+v", stored.Snapshot(), u.Snapshot())
			}
			if stored.Version() != u.Version() {
				t.Fatalf("returned version %d, stored %d", u.Version(), stored.Version())
			}
		})
	}
}

// Endless conflicts are retried a bounded number of times, then reported.
func TestConflictRetriesAreBounded(t *testing.T) {
	f := newFixture()
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada"})
	users := &mocks.UserStoreMock{GetFunc: f.users.Get,
		UpdateFunc: func(context.Context, *domain.User) (*domain.User, error) { return nil, ports.ErrConflict }}
	svc := accounts.NewService(users, f.billing, f.thaws, f.clock)
	if _, err := svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L"}); !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("endless conflict: %v", err)
	}
	if n := len(users.UpdateCalls()); n != accounts.MaxConflictRetries {
		t.Fatalf("%d writes, want %d", n, accounts.MaxConflictRetries)
	}
	if _, err := svc.Upgrade(ctx, "s1"); !errors.Is(err, ports.ErrConflict) || len(f.thaws.PublishCalls()) != 0 {
		t.Fatalf("endless conflict on upgrade: %v, %d thaws", err, len(f.thaws.PublishCalls()))
	}
}

// Two first sign-ins racing: the one whose create finds the profile there
// refreshes that profile instead of failing or replacing it.
func TestRacingFirstSignIns(t *testing.T) {
	f := newFixture()
	users := &mocks.UserStoreMock{GetFunc: f.users.Get, UpdateFunc: f.users.Update,
		CreateFunc: func(ctx context.Context, u *domain.User) error {
			if _, err := f.svc.SignIn(ctx, ports.Identity{Subject: u.ID(), Name: "Ada"}); err != nil {
				t.Fatal(err)
			}
			return f.users.Create(ctx, u)
		}}
	svc := accounts.NewService(users, f.billing, f.thaws, f.clock)
	u, err := svc.SignIn(ctx, ports.Identity{Subject: "s1", Name: "Ada L", Email: "ada@lab.org"})
	if err != nil || u.Name() != "Ada L" || u.Version() != 1 {
		t.Fatalf("racing first sign-in: %v %+v", err, u)
	}
}

// Under the admin upgrade policy a user cannot change their own plan; the
// operators grant (with the restore of archived results) and revoke.
func TestAdminPolicyLeavesPlansToOperators(t *testing.T) {
	f := newFixture()
	f.svc.WithUpgrades(domain.UpgradeAdmin)
	f.svc.SignIn(ctx, ports.Identity{Subject: "s1"})
	if _, err := f.svc.Upgrade(ctx, "s1"); !errors.Is(err, accounts.ErrOperatorsOnly) {
		t.Fatalf("self upgrade under admin: %v", err)
	}
	if u, _ := f.users.Get(ctx, "s1"); u.Premium() || f.subs["s1"] || len(f.thaws.PublishCalls()) != 0 {
		t.Fatal("a refused self upgrade changed something")
	}
	u, err := f.svc.Grant(ctx, "s1")
	if err != nil || !u.Premium() || len(f.thaws.PublishCalls()) != 1 {
		t.Fatalf("grant: %v, premium %v, %d thaw requests", err, u != nil && u.Premium(), len(f.thaws.PublishCalls()))
	}
	if _, err := f.svc.Downgrade(ctx, "s1"); !errors.Is(err, accounts.ErrOperatorsOnly) {
		t.Fatalf("self downgrade under admin: %v", err)
	}
	if u, err := f.svc.Revoke(ctx, "s1"); err != nil || u.Premium() {
		t.Fatalf("revoke: %v", err)
	}
	us, next, err := f.svc.Users(ctx, "", 10)
	if err != nil || len(us) != 1 || next != "" || f.svc.Upgrades() != domain.UpgradeAdmin {
		t.Fatalf("users %v %q %v", us, next, err)
	}
}
