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
	"github.com/gasproject/gas/domain/pipeline/message"
	"github.com/gasproject/gas/ports"
)

// Service implements the account use cases against the ports.
type Service struct {
	users   ports.UserStore
	billing ports.Billing
	thaws   ports.Publisher
	clock   ports.Clock
	log     *slog.Logger
}

// NewService wires the account use cases; thaws is the thaw-requests topic.
func NewService(users ports.UserStore, billing ports.Billing, thaws ports.Publisher, clock ports.Clock) *Service {
	return &Service{users: users, billing: billing, thaws: thaws, clock: clock, log: slog.Default().With("service", "accounts")}
}

// WithLogger replaces the default logger, for apps that configure slog.
func (s *Service) WithLogger(l *slog.Logger) *Service {
	s.log = l.With("service", "accounts")
	return s
}

// SignIn returns the profile of who the identity provider vouched for,
// creating a FREE one at first sign-in and refreshing name and e-mail later.
//
// The user store has no conditional write, so a sign-in and a plan change
// (Upgrade, Downgrade) racing on one profile could each overwrite the
// other's change with a stale copy. Both sides therefore re-read the profile
// immediately before writing and change only their own fields: a sign-in
// changes the contact fields of the latest profile, never the plan. The
// residual window is one store round trip: a plan change written between
// that re-read and the write is still lost. Closing it needs a conditional
// write (a version on the profile) in ports.UserStore.
func (s *Service) SignIn(ctx context.Context, id ports.Identity) (*domain.User, error) {
	u, err := s.users.Get(ctx, id.Subject)
	if errors.Is(err, ports.ErrNotFound) {
		u, err = domain.NewUser(id.Subject, id.Name, id.Email, id.Institution, s.clock.Now())
		if err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		if err := s.users.Put(ctx, u); err != nil {
			return nil, fmt.Errorf("sign in %s: create profile: %w", id.Subject, err)
		}
		s.log.InfoContext(ctx, "profile created", "user", id.Subject)
		return u, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", id.Subject, err)
	}
	if sameContact(u, id) {
		// Nothing changed: do not write, so this sign-in cannot overwrite
		// a concurrent plan change at all.
		return u, nil
	}
	if err := u.UpdateContact(id.Name, id.Email, id.Institution); err != nil {
		return nil, fmt.Errorf("sign in %s: %w", id.Subject, err)
	}
	u, err = s.merge(ctx, id.Subject, func(latest *domain.User) (bool, error) {
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

// merge re-reads a profile, applies change to that latest copy and writes
// it if change asks to, returning the profile as written (or as read).
// Reading right before writing keeps a concurrent change to other fields
// (see SignIn for the window that remains).
func (s *Service) merge(ctx context.Context, id domain.UserID, change func(latest *domain.User) (write bool, err error)) (*domain.User, error) {
	latest, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("re-read profile: %w", err)
	}
	write, err := change(latest)
	if err != nil {
		return nil, err
	}
	if write {
		if err := s.users.Put(ctx, latest); err != nil {
			return nil, err
		}
	}
	return latest, nil
}

// Profile returns a user's profile; ports.ErrNotFound if they never signed in.
func (s *Service) Profile(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", id, err)
	}
	return u, nil
}

// Upgrade takes payment, makes the user premium and asks the thawer to
// restore every archived job. It is safe to repeat: an already premium user
// is not charged again but the thaw is requested again, so a retry after a
// failed publish still brings the results back. The profile is re-read
// after the (slow) billing call and only its plan changed, so contact
// details a sign-in wrote meanwhile are kept.
func (s *Service) Upgrade(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s: %w", id, err)
	}
	if !u.Premium() {
		if err := s.billing.Subscribe(ctx, id); err != nil {
			return nil, fmt.Errorf("upgrade %s: billing: %w", id, err)
		}
		now := s.clock.Now()
		u, err = s.merge(ctx, id, func(latest *domain.User) (bool, error) {
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

// Downgrade cancels premium. Billing is cancelled first so a failure cannot
// leave a free user paying; repeating it on a free user is a no-op. Like
// Upgrade it re-reads the profile after billing and changes only the plan.
func (s *Service) Downgrade(ctx context.Context, id domain.UserID) (*domain.User, error) {
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
	u, err = s.merge(ctx, id, func(latest *domain.User) (bool, error) {
		err := latest.Downgrade()
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
