package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// DefaultPolicy is ARCHITECTURE.md's defaults: 150 KiB free inputs, a five
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
	// Max is the service maximum (premium's limit), named when a free
	// user is told what upgrading allows.
	Max int64
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
		return fmt.Sprintf("%s; free accounts may submit up to %s — upgrade to premium for files up to %s",
			size, HumanBytes(e.Limit), HumanBytes(e.Max))
	}
	return fmt.Sprintf("%s; the service accepts at most %s", size, HumanBytes(e.Limit))
}

// Is matches ErrInputTooLarge.
func (e *InputTooLargeError) Is(target error) bool { return target == ErrInputTooLarge }

// CheckInputSize enforces the tier's input limit.
func (p Policy) CheckInputSize(t Tier, size int64) error {
	if limit := p.InputLimit(t); size > limit {
		return p.TooLarge(t, size, false)
	}
	return nil
}

// TooLarge is the refusal of an input of size bytes (at least size, when
// atLeast) under tier t, naming the tier's limit and the service maximum.
func (p Policy) TooLarge(t Tier, size int64, atLeast bool) *InputTooLargeError {
	return &InputTooLargeError{Size: size, Limit: p.InputLimit(t), Tier: t, Max: p.MaxInputSize, AtLeast: atLeast}
}

// HumanBytes renders a byte count in binary units labelled as such (1 KiB
// = 1024 bytes, the unit the limits are set in): "24 bytes", "1.5 KiB",
// "150 KiB", "2 GiB". A size that is not a whole number of units never
// prints as one: 150 KiB + 50 bytes is "150.05 KiB", not "150.0 KiB", so a
// file over a limit never reads as the limit; where three decimals cannot
// tell them apart the exact count is given ("2,147,483,649 bytes").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit || m <= -unit; m /= unit {
		div *= unit
		exp++
	}
	label := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}[exp]
	if n%div == 0 {
		return fmt.Sprintf("%d %s", n/div, label)
	}
	v := float64(n) / float64(div)
	for prec := 1; prec <= 3; prec++ {
		if s := strconv.FormatFloat(v, 'f', prec, 64); !wholeLooking(s) {
			return s + " " + label
		}
	}
	return Thousands(n) + " bytes"
}

// wholeLooking reports whether a formatted decimal ends in zeros only
// after the point ("150.0", "2.000"), which would pass for a whole number.
func wholeLooking(s string) bool {
	i := strings.IndexByte(s, '.')
	return i >= 0 && strings.Trim(s[i+1:], "0") == ""
}
