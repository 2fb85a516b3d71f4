package domain

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Tier is a user's plan; it decides input limits and whether results are
// archived after the download window.
type Tier string

// The two plans.
const (
	TierFree    Tier = "FREE"
	TierPremium Tier = "PREMIUM"
)

// Errors from User's methods.
var (
	// ErrInvalidUser is wrapped when a profile would be built from invalid values.
	ErrInvalidUser = errors.New("invalid user profile")
	// ErrAlreadyPremium is returned by Upgrade for a premium user, so a
	// repeated click or redelivery is recognised as done.
	ErrAlreadyPremium = errors.New("user is already premium")
	// ErrNotPremium is returned by Downgrade for a free user.
	ErrNotPremium = errors.New("user is not premium")
)

// User is a signed-in researcher's profile.
type User struct {
	id           UserID
	name         string
	email        string
	institution  string
	tier         Tier
	createdAt    time.Time
	upgradedAt   time.Time
	downgradedAt time.Time
	version      int64
}

// NewUser makes the FREE profile created at first sign-in.
func NewUser(id UserID, name, email, institution string, now time.Time) (*User, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty user id", ErrInvalidUser)
	}
	if email != "" {
		if _, err := mail.ParseAddress(email); err != nil {
			return nil, fmt.Errorf("%w: e-mail %q: %v", ErrInvalidUser, email, err)
		}
	}
	if now.IsZero() {
		return nil, fmt.Errorf("%w: user %s has no creation time", ErrInvalidUser, id)
	}
	return &User{id: id, name: strings.TrimSpace(name), email: email, institution: strings.TrimSpace(institution),
		tier: TierFree, createdAt: now.UTC()}, nil
}

// Upgrade makes the user premium; the caller then restores archived results.
func (u *User) Upgrade(now time.Time) error {
	if u.tier == TierPremium {
		return ErrAlreadyPremium
	}
	u.tier = TierPremium
	u.upgradedAt = now.UTC()
	return nil
}

// Downgrade returns the user to the free plan; later completions follow free
// rules while existing results stay where they are.
func (u *User) Downgrade(now time.Time) error {
	if u.tier != TierPremium {
		return ErrNotPremium
	}
	u.tier = TierFree
	u.downgradedAt = now.UTC()
	return nil
}

// UpdateContact refreshes name, e-mail and institution from the identity
// provider at sign-in, keeping the profile current without touching the tier.
func (u *User) UpdateContact(name, email, institution string) error {
	if email != "" {
		if _, err := mail.ParseAddress(email); err != nil {
			return fmt.Errorf("%w: e-mail %q: %v", ErrInvalidUser, email, err)
		}
	}
	u.name, u.email, u.institution = strings.TrimSpace(name), email, strings.TrimSpace(institution)
	return nil
}

// ID identifies the user.
func (u *User) ID() UserID { return u.id }

// Name is the display name.
func (u *User) Name() string { return u.name }

// Email is where completion notices go.
func (u *User) Email() string { return u.email }

// Institution is shown on the profile.
func (u *User) Institution() string { return u.institution }

// Tier is the current plan.
func (u *User) Tier() Tier { return u.tier }

// Premium reports whether the user's results are kept hot.
func (u *User) Premium() bool { return u.tier == TierPremium }

// CreatedAt is "member since".
func (u *User) CreatedAt() time.Time { return u.createdAt }

// UpgradedAt is when the user last became premium.
func (u *User) UpgradedAt() time.Time { return u.upgradedAt }

// DowngradedAt is when the user last returned to the free plan (zero if
// never, or before it was recorded).
func (u *User) DowngradedAt() time.Time { return u.downgradedAt }

// Version is the optimistic-concurrency version stores compare on update,
// so a sign-in and a plan change cannot overwrite each other's write.
func (u *User) Version() int64 { return u.version }

// UserSnapshot is a profile as plain data for stores.
type UserSnapshot struct {
	ID           UserID    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Institution  string    `json:"institution"`
	Tier         Tier      `json:"tier"`
	CreatedAt    time.Time `json:"created_at"`
	UpgradedAt   time.Time `json:"upgraded_at,omitzero"`
	DowngradedAt time.Time `json:"downgraded_at,omitzero"`
	Version      int64     `json:"version"`
}

// Snapshot exports the profile for persistence.
func (u *User) Snapshot() UserSnapshot {
	return UserSnapshot{ID: u.id, Name: u.name, Email: u.email, Institution: u.institution,
		Tier: u.tier, CreatedAt: u.createdAt, UpgradedAt: u.upgradedAt, DowngradedAt: u.downgradedAt, Version: u.version}
}

// RestoreUser rebuilds a profile from a stored snapshot.
func RestoreUser(s UserSnapshot) (*User, error) {
	if s.ID == "" {
		return nil, fmt.Errorf("%w: snapshot without id", ErrInvalidUser)
	}
	if s.Tier != TierFree && s.Tier != TierPremium {
		return nil, fmt.Errorf("%w: user %s has unknown tier %q", ErrInvalidUser, s.ID, s.Tier)
	}
	return &User{id: s.ID, name: s.Name, email: s.Email, institution: s.Institution, tier: s.Tier,
		createdAt: s.CreatedAt.UTC(), upgradedAt: s.UpgradedAt.UTC(), downgradedAt: s.DowngradedAt.UTC(), version: s.Version}, nil
}
