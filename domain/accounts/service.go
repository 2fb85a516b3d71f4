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
	if u.Name() == id.Name && u.Email() == id.Email && u.Institution() == id.Institution {
		// Nothing changed: do not write, so a sign-in cannot overwrite a
		// concurrent upgrade (the user store has no conditional write).
		return u, nil
	}
	if err := u.UpdateContact(id.Name, id.Email, id.Institution); err != nil {
		return nil, fmt.Errorf("sign in %s: %w", id.Subject, err)
	}
	if err := s.users.Put(ctx, u); err != nil {
		return nil, fmt.Errorf("sign in %s: update profile: %w", id.Subject, err)
	}
	return u, nil
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
// failed publish still brings the results back.
func (s *Service) Upgrade(ctx context.Context, id domain.UserID) (*domain.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s: %w", id, err)
	}
	if !u.Premium() {
		if err := s.billing.Subscribe(ctx, id); err != nil {
			return nil, fmt.Errorf("upgrade %s: billing: %w", id, err)
		}
		if err := u.Upgrade(s.clock.Now()); err != nil {
			return nil, fmt.Errorf("upgrade %s: %w", id, err)
		}
		if err := s.users.Put(ctx, u); err != nil {
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
// leave a free user paying; repeating it on a free user is a no-op.
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
	if err := u.Downgrade(); err != nil {
		return nil, fmt.Errorf("downgrade %s: %w", id, err)
	}
	if err := s.users.Put(ctx, u); err != nil {
		return nil, fmt.Errorf("downgrade %s: save profile: %w", id, err)
	}
	s.log.InfoContext(ctx, "user downgraded", "user", id)
	return u, nil
}
