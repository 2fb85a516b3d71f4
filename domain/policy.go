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
	// FreeDecompressedLimit and MaxDecompressedSize bound the VCF text of
	// one job once decompressed (a 150 KB .vcf.gz can inflate to
	// gigabytes), for free users and for everyone; FreeRecordLimit and
	// MaxRecords bound its variant records. They are checked while the
	// input streams (InputLimits).
	FreeDecompressedLimit, MaxDecompressedSize int64
	FreeRecordLimit, MaxRecords                int64
	// FreeInFlight and PremiumInFlight cap how many of one user's jobs an
	// annotator pool runs at once (InFlightCap), so one user's backlog
	// never takes every slot.
	FreeInFlight, PremiumInFlight int
	// Upgrades says who changes plans: the users themselves (open: local
	// mode, demos, no payment taken) or only the operators (admin).
	Upgrades UpgradePolicy
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
// minute free window, premium never archived, 2 GiB service maximum. A
// free input is at most 150 KiB of VCF once decompressed too, so the free
// plan's 150 KiB means what it says; everyone's is at most 16 GiB of VCF
// and 100 million records. A free user runs two jobs at once, a premium
// user four.
func DefaultPolicy() Policy {
	return Policy{
		FreeInputLimit:        150 * 1024,
		MaxInputSize:          2 << 30,
		FreeDecompressedLimit: 150 * 1024,
		MaxDecompressedSize:   16 << 30,
		FreeRecordLimit:       10_000,
		MaxRecords:            100_000_000,
		FreeInFlight:          2,
		PremiumInFlight:       4,
		Upgrades:              UpgradeOpen,
		FreeWindow:            5 * time.Minute,
		MaxAttempts:           3,
		Lease:                 2 * time.Minute,
		ExpeditedRestore:      5 * time.Minute,
		StandardRestore:       5 * time.Hour,
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
	case p.FreeDecompressedLimit <= 0 || p.FreeDecompressedLimit > p.MaxDecompressedSize:
		return fmt.Errorf("%w: decompressed limits must be positive, the free one at most the service maximum", ErrInvalidPolicy)
	case p.FreeRecordLimit <= 0 || p.FreeRecordLimit > p.MaxRecords:
		return fmt.Errorf("%w: record limits must be positive, the free one at most the service maximum", ErrInvalidPolicy)
	case p.FreeInFlight < 1 || p.PremiumInFlight < 1:
		return fmt.Errorf("%w: every plan must be allowed at least one job in flight", ErrInvalidPolicy)
	case p.Upgrades != UpgradeOpen && p.Upgrades != UpgradeAdmin:
		return fmt.Errorf("%w: upgrade policy %q is neither %q nor %q", ErrInvalidPolicy, p.Upgrades, UpgradeOpen, UpgradeAdmin)
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

// UpgradePolicy says who may change a user's plan.
type UpgradePolicy string

// The upgrade policies.
const (
	// UpgradeOpen lets users upgrade and cancel premium themselves: local
	// mode and demos, where no payment is taken.
	UpgradeOpen UpgradePolicy = "open"
	// UpgradeAdmin leaves plans to the operators, who grant and revoke
	// premium (`gas users grant|revoke`, the admin page): a deployment
	// without payment must not hand 2 GiB uploads to every visitor.
	UpgradeAdmin UpgradePolicy = "admin"
)

// Limit names one bound on the input of a job.
type Limit string

// The limits InputLimits carries.
const (
	LimitDecompressed Limit = "decompressed size"
	LimitRecords      Limit = "records"
)

// InputLimits bound the work one job may make, by its owner's plan:
// the bytes of VCF text once decompressed and the variant records. The
// annotator checks them while the input streams and fails the job with
// Exceeded's error the moment one is passed.
type InputLimits struct {
	Tier         Tier
	Decompressed int64
	Records      int64
	// Upgrade is what premium allows, named when a free user hits a limit.
	Upgrade struct{ Decompressed, Records int64 }
}

// InputLimits are the limits of a job submitted under tier t.
func (p Policy) InputLimits(t Tier) InputLimits {
	l := InputLimits{Tier: t, Decompressed: p.MaxDecompressedSize, Records: p.MaxRecords}
	if t != TierPremium {
		l.Decompressed, l.Records = p.FreeDecompressedLimit, p.FreeRecordLimit
	}
	l.Upgrade.Decompressed, l.Upgrade.Records = p.MaxDecompressedSize, p.MaxRecords
	return l
}

// Exceeded is the error for a job that passed limit which: it names the
// limit and, for a free user, the plan that lifts it.
func (l InputLimits) Exceeded(which Limit) error {
	e := &LimitError{Which: which, Tier: l.Tier}
	switch which {
	case LimitDecompressed:
		e.Limit, e.Upgrade = l.Decompressed, l.Upgrade.Decompressed
	default:
		e.Limit, e.Upgrade = l.Records, l.Upgrade.Records
	}
	return e
}

// LimitError says which limit of its plan a job's input passed. It
// matches ErrInputTooLarge.
type LimitError struct {
	Which          Limit
	Limit, Upgrade int64
	Tier           Tier
}

func (e *LimitError) Error() string {
	what, most := fmt.Sprintf("has more than %s variant records", count(e.Limit)), count(e.Limit)+" records"
	if e.Which == LimitDecompressed {
		what, most = "is larger than "+HumanBytes(e.Limit)+" once decompressed", HumanBytes(e.Limit)+" of VCF"
	}
	if e.Tier != TierPremium && e.Upgrade > e.Limit {
		lifted := count(e.Upgrade) + " records"
		if e.Which == LimitDecompressed {
			lifted = HumanBytes(e.Upgrade)
		}
		return fmt.Sprintf("the file %s; free accounts may annotate up to %s per job — upgrade to premium for up to %s",
			what, most, lifted)
	}
	return fmt.Sprintf("the file %s; the service annotates at most %s per job", what, most)
}

// Is matches ErrInputTooLarge.
func (e *LimitError) Is(target error) bool { return target == ErrInputTooLarge }

// count renders n with thousands separators ("10,000").
func count(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
