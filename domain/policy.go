package domain

import (
	"errors"
	"fmt"
	"time"
)

// Policy is the tier rules as data, so deployments (and tests with short
// windows) configure them instead of editing code.
type Policy struct {
	// FreeInputLimit is the largest input a free user may submit, in bytes.
	FreeInputLimit int64
	// MaxInputSize is the service-wide input limit for everyone, in bytes.
	MaxInputSize int64
	// FreeWindow is how long a free user's results stay downloadable after
	// completion before they are archived.
	FreeWindow time.Duration
	// MaxAttempts bounds how often a job is run before it is FAILED.
	MaxAttempts int
	// Lease is how long a claim lasts without being extended.
	Lease time.Duration
	// ExpeditedRestore and StandardRestore are the expected retrieval times
	// shown to users while a restore is in flight.
	ExpeditedRestore time.Duration
	StandardRestore  time.Duration
}

// DefaultPolicy is ARCHITECTURE.md's defaults: 150 KB free inputs, a five
// minute free window, premium never archived, 2 GiB service maximum.
func DefaultPolicy() Policy {
	return Policy{
		FreeInputLimit:   150 * 1024,
		MaxInputSize:     2 << 30,
		FreeWindow:       5 * time.Minute,
		MaxAttempts:      3,
		Lease:            2 * time.Minute,
		ExpeditedRestore: 5 * time.Minute,
		StandardRestore:  5 * time.Hour,
	}
}

// ErrInvalidPolicy is returned by Validate.
var ErrInvalidPolicy = errors.New("invalid tier policy")

// Validate rejects a policy that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.FreeInputLimit <= 0 || p.MaxInputSize <= 0:
		return fmt.Errorf("%w: input limits must be positive", ErrInvalidPolicy)
	case p.FreeInputLimit > p.MaxInputSize:
		return fmt.Errorf("%w: free limit %d exceeds service maximum %d", ErrInvalidPolicy, p.FreeInputLimit, p.MaxInputSize)
	case p.FreeWindow < 0:
		return fmt.Errorf("%w: negative free window", ErrInvalidPolicy)
	case p.MaxAttempts < 1:
		return fmt.Errorf("%w: at least one attempt is needed", ErrInvalidPolicy)
	case p.Lease <= 0:
		return fmt.Errorf("%w: lease must be positive", ErrInvalidPolicy)
	}
	return nil
}

// InputLimit is the largest input the tier may submit.
func (p Policy) InputLimit(t Tier) int64 {
	if t == TierPremium {
		return p.MaxInputSize
	}
	return p.FreeInputLimit
}

// Archives reports whether results of a job completed under tier t are
// archived after the window.
func (p Policy) Archives(t Tier) bool { return t != TierPremium }

// ArchiveOwed reports whether the results of a job owner completed at
// completedAt are owed to cold storage now, as far as the profile
// remembers its plans: the owner is free, and was free when the job
// completed (never premium, or completed on or after their last
// downgrade). Results completed under premium stay hot after a downgrade,
// and so do results restored by an upgrade. When the profile cannot tell
// (an earlier plan change not recorded) it answers false: keeping results
// hot is the mistake that loses nothing. The reconciler asks it before
// scheduling an archive the archiver never got.
func (p Policy) ArchiveOwed(owner *User, completedAt time.Time) bool {
	switch {
	case !p.Archives(owner.Tier()):
		return false
	case owner.UpgradedAt().IsZero():
		return true
	}
	return !owner.DowngradedAt().IsZero() && !completedAt.Before(owner.DowngradedAt())
}

// ExpectedRestore is how long a retrieval of the tier is expected to take.
func (p Policy) ExpectedRestore(t RetrievalTier) time.Duration {
	if t == RetrievalExpedited {
		return p.ExpeditedRestore
	}
	return p.StandardRestore
}

// ErrInputTooLarge is returned when an input exceeds the tier's limit; the
// error says the limit so the page can offer the upgrade.
var ErrInputTooLarge = errors.New("input is larger than allowed")

// InputTooLargeError carries the numbers behind ErrInputTooLarge.
type InputTooLargeError struct {
	Size, Limit int64
	Tier        Tier
	// AtLeast marks Size as a lower bound: a streamed upload was stopped as
	// soon as it passed Limit, so its real size is unknown.
	AtLeast bool
}

func (e *InputTooLargeError) Error() string {
	size := "the file is " + HumanBytes(e.Size)
	if e.AtLeast {
		size = "the file is larger than " + HumanBytes(e.Limit)
	}
	if e.Tier == TierFree {
		return fmt.Sprintf("%s; free accounts may submit up to %s — upgrade to premium for files up to the service maximum",
			size, HumanBytes(e.Limit))
	}
	return fmt.Sprintf("%s; the service accepts at most %s", size, HumanBytes(e.Limit))
}

// Is matches ErrInputTooLarge.
func (e *InputTooLargeError) Is(target error) bool { return target == ErrInputTooLarge }

// CheckInputSize enforces the tier's input limit.
func (p Policy) CheckInputSize(t Tier, size int64) error {
	if limit := p.InputLimit(t); size > limit {
		return &InputTooLargeError{Size: size, Limit: limit, Tier: t}
	}
	return nil
}

// HumanBytes renders a byte count the way users read file sizes (KB = 1024 bytes).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %cB", int64(v), "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %cB", v, "KMGTPE"[exp])
}
