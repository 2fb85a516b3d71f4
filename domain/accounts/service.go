// Package accounts is the use-case service for profiles and plans: sign-in
// creates a FREE profile, upgrade takes payment and brings archived results
// back, downgrade returns the user to free rules for later completions.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Service implements the account use cases against the ports.
type Service struct {
	users    ports.UserStore
	billing  ports.Billing
	thaws    ports.Publisher
	clock    ports.Clock
	log      *slog.Logger
	upgrades domain.UpgradePolicy
}

// ErrOperatorsOnly refuses a user's own plan change under the admin
// upgrade policy: the operators grant and revoke premium.
var ErrOperatorsOnly = errors.New("plans are changed by the operators of this service")

// NewService wires the account use cases; thaws is the thaw-requests
// topic. Users change their own plans (domain.UpgradeOpen) unless
// WithUpgrades says otherwise.
func NewService(users ports.UserStore, billing ports.Billing, thaws ports.Publisher, clock ports.Clock) *Service {
	return &Service{users: users, billing: billing, thaws: thaws, clock: clock, log: slog.Default().With("service", "accounts"),
		upgrades: domain.UpgradeOpen}
}

// WithUpgrades sets who changes plans (domain.Policy.Upgrades).
func (s *Service) WithUpgrades(p domain.UpgradePolicy) *Service {
	s.upgrades = p
	return s
}

// Upgrades is who changes plans, for the pages that explain it.
func (s *Service) Upgrades() domain.UpgradePolicy { return s.upgrades }

// WithLogger replaces the default logger, for apps that configure slog.
func (s *Service) WithLogger(l *slog.Logger) *Service {
	s.log = l.With("service", "accounts")
	return s
}

// MaxConflictRetries bounds how often a profile change is reloaded and
// re-applied after losing a conditional write to a concurrent one.
const MaxConflictRetries = 8

// SignIn returns the profile of who the identity provider vouched for,
// creating a FREE one at first sign-in and refreshing name and e-mail later.
//
// A sign-in and a plan change (Upgrade, Downgrade) may race on one profile.
// Every write is conditional on the profile's version, so the one that
// loses gets ports.ErrConflict, reloads the latest profile and re-applies
// only its own change: a sign-in changes the contact fields, never the plan.
func (s *Service) SignIn(ctx context.Context, id ports.Identity) (*domain.User, error) {
	u, err := s.users.Get(ctx, id.Subject)
	if errors.Is(err, ports.ErrNotFound) {
		u, err = domain.NewUser(id.Subject, id.Name, id.Email, id.Institution, s.clock.Now())
		if err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		err = s.users.Create(ctx, u)
		if err == nil {
			s.log.InfoContext(ctx, "profile created", "user", id.Subject)
			return u, nil
		}
		if !errors.Is(err, ports.ErrExists) {
			return nil, fmt.Errorf("sign in %s: create profile: %w", id.Subject, err)
		}
		// A concurrent first sign-in created it: refresh that one below.
		u = nil
	} else if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", id.Subject, err)
	}
	if u != nil && sameContact(u, id) {
		// Nothing changed: do not write at all.
		return u, nil
	}
	u, err = s.mutate(ctx, id.Subject, u, func(latest *domain.User) (bool, error) {
		if sameContact(latest, id) {
			return false, nil
		}
		return true, latest.UpdateContact(id.Name, id.Email, id.Institution)
	})
	if err != nil {
		return nil, fmt.Errorf("sign in %s: update profile: %w", id.Subject, err)
	}
	return u, nil
}

func sameContact(u *domain.User, id ports.Identity) bool {
	return u.Name() == id.Name && u.Email() == id.Email && u.Institution() == id.Institution
}

// mutate applies change to the profile and writes it conditionally on its
// version if change asks to, like jobs.Mutate: on ports.ErrConflict it
// reloads the profile and re-applies change, at most MaxConflictRetries
// times. It starts from first if given (a copy just read), else reads. It
// returns the profile as written (or as read when nothing was written).
func (s *Service) mutate(ctx context.Context, id domain.UserID, first *domain.User, change func(latest *domain.User) (write bool, err error)) (*domain.User, error) {
	latest := first
	for range MaxConflictRetries {
		if latest == nil {
			u, err := s.users.Get(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("load profile: %w", err)
			}
			latest = u
		}
		write, err := change(latest)
		if err != nil {
			return nil, err
		}
		if !write {
			return latest, nil
		}
		updated, err := s.users.Update(ctx, latest)
		if errors.Is(err, ports.ErrConflict) {
			latest = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		return updated, nil
	}
	return nil, fmt.Errorf("write profile %s: still conflicting after %d attempts: %w", id, MaxConflictRetries, ports.ErrConflict)
}

// Profile returns a user's profile; ports.ErrNotFound if they never signed in.
func (s *Service) Profile(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", id, err)
	}
	return u, nil
}

// Upgrade is a user's own upgrade (the plan page): Grant, under the open
// upgrade policy only; ErrOperatorsOnly under admin.
func (s *Service) Upgrade(ctx context.Context, id domain.UserID) (*domain.User, error) {
	if s.upgrades != domain.UpgradeOpen {
		return nil, fmt.Errorf("upgrade %s: %w", id, ErrOperatorsOnly)
	}
	return s.Grant(ctx, id)
}

// Downgrade is a user's own cancellation of premium: Revoke, under the
// open upgrade policy only; ErrOperatorsOnly under admin.
func (s *Service) Downgrade(ctx context.Context, id domain.UserID) (*domain.User, error) {
	if s.upgrades != domain.UpgradeOpen {
		return nil, fmt.Errorf("downgrade %s: %w", id, ErrOperatorsOnly)
	}
	return s.Revoke(ctx, id)
}

// Users pages through every profile, for the operators.
func (s *Service) Users(ctx context.Context, cursor string, limit int) ([]*domain.User, string, error) {
	us, next, err := s.users.List(ctx, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	return us, next, nil
}

// Grant takes payment, makes the user premium and asks the thawer to
// restore every archived job. It is safe to repeat: an already premium user
// is not charged again but the thaw is requested again, so a retry after a
// failed publish still brings the results back. The profile is re-read
// after the (slow) billing call and only its plan changed, with a
// conditional write retried on conflict, so contact details a sign-in wrote
// meanwhile are kept.
func (s *Service) Grant(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s: %w", id, err)
	}
	if !u.Premium() {
		if err := s.billing.Subscribe(ctx, id); err != nil {
			return nil, fmt.Errorf("upgrade %s: billing: %w", id, err)
		}
		now := s.clock.Now()
		u, err = s.mutate(ctx, id, nil, func(latest *domain.User) (bool, error) {
			err := latest.Upgrade(now)
			if errors.Is(err, domain.ErrAlreadyPremium) {
				return false, nil // upgraded concurrently
			}
			return err == nil, err
		})
		if err != nil {
			return nil, fmt.Errorf("upgrade %s: save profile: %w", id, err)
		}
		s.log.InfoContext(ctx, "user upgraded", "user", id)
	}
	if err := message.Publish(ctx, s.thaws, message.ThawUser(id)); err != nil {
		return u, fmt.Errorf("upgrade %s: request restore of archived results: %w", id, err)
	}
	return u, nil
}

// Revoke cancels premium. Billing is cancelled first so a failure cannot
// leave a free user paying; repeating it on a free user is a no-op. Like
// Grant it re-reads the profile after billing and changes only the plan,
// retrying its conditional write on conflict.
func (s *Service) Revoke(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("downgrade %s: %w", id, err)
	}
	if !u.Premium() {
		return u, nil
	}
	if err := s.billing.Cancel(ctx, id); err != nil {
		return nil, fmt.Errorf("downgrade %s: billing: %w", id, err)
	}
	now := s.clock.Now()
	u, err = s.mutate(ctx, id, nil, func(latest *domain.User) (bool, error) {
		err := latest.Downgrade(now)
		if errors.Is(err, domain.ErrNotPremium) {
			return false, nil // downgraded concurrently
		}
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("downgrade %s: save profile: %w", id, err)
	}
	s.log.InfoContext(ctx, "user downgraded", "user", id)
	return u, nil
}
