package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPolicyDefaultsAndValidate(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.FreeInputLimit != 150*1024 || p.FreeWindow != 5*time.Minute || p.MaxInputSize != 2<<30 || p.Archives(TierPremium) || !p.Archives(TierFree) {
		t.Fatalf("defaults %+v", p)
	}
	bad := []func(*Policy){
		func(p *Policy) { p.FreeInputLimit = 0 },
		func(p *Policy) { p.MaxInputSize = -1 },
		func(p *Policy) { p.FreeInputLimit = p.MaxInputSize + 1 },
		func(p *Policy) { p.FreeWindow = -time.Second },
		func(p *Policy) { p.MaxAttempts = 0 },
		func(p *Policy) { p.Lease = 0 },
	}
	for i, f := range bad {
		q := DefaultPolicy()
		f(&q)
		if err := q.Validate(); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestCheckInputSize(t *testing.T) {
	p := DefaultPolicy()
	if err := p.CheckInputSize(TierFree, 150*1024); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := p.CheckInputSize(TierFree, 150*1024+1)
	var tl *InputTooLargeError
	if !errors.Is(err, ErrInputTooLarge) || !errors.As(err, &tl) || tl.Limit != 150*1024 || tl.Tier != TierFree {
		t.Fatalf("over the free limit: %v", err)
	}
	if !strings.Contains(err.Error(), "upgrade to premium for files up to 2 GiB") {
		t.Errorf("free refusal should offer the upgrade and name the service maximum: %q", err)
	}
	// 50 bytes over 150 KiB must not read as 150 KiB (issue 13 item 9).
	if err := p.CheckInputSize(TierFree, 150*1024+50); !strings.HasPrefix(err.Error(), "the file is 150.05 KiB; free accounts may submit up to 150 KiB") {
		t.Errorf("refusal of a file just over the limit: %q", err)
	}
	if err := p.CheckInputSize(TierPremium, 1<<30); err != nil {
		t.Errorf("premium 1 GiB: %v", err)
	}
	if err := p.CheckInputSize(TierPremium, 2<<30+1); !errors.Is(err, ErrInputTooLarge) || strings.Contains(err.Error(), "upgrade") {
		t.Errorf("premium over service max: %v", err)
	}
	cut := p.TooLarge(TierFree, 150*1024+1, true)
	if !strings.HasPrefix(cut.Error(), "the file is larger than 150 KiB;") {
		t.Errorf("streamed refusal: %q", cut.Error())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 24: "24 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		150 * 1024: "150 KiB", 150*1024 + 50: "150.05 KiB", 150*1024 + 1: "150.001 KiB", 150*1024 - 40: "149.96 KiB",
		2 << 30: "2 GiB", 2<<30 + 1: "2,147,483,649 bytes", 5 << 20: "5 MiB", 5<<20 + 300<<10: "5.3 MiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	// A size over a limit never prints as the limit.
	for n := int64(150 * 1024); n < 150*1024+2048; n++ {
		if HumanBytes(n+1) == HumanBytes(150*1024) {
			t.Fatalf("%d bytes prints as the 150 KiB limit", n+1)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234", -123: "-123"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestExpectedRestore(t *testing.T) {
	p := DefaultPolicy()
	if p.ExpectedRestore(RetrievalExpedited) != p.ExpeditedRestore || p.ExpectedRestore(RetrievalStandard) != p.StandardRestore {
		t.Fatal("expected restore times")
	}
}

func TestDecideDownload(t *testing.T) {
	p := DefaultPolicy()
	free, premium := newUser(t, false), newUser(t, true)
	completedAt := t0.Add(time.Minute) // see state(): Complete at t0+1m
	cases := []struct {
		state string
		owner *User
		want  DownloadDecision
	}{
		{"pending", free, DownloadDecision{State: DownloadNotReady}},
		{"running", free, DownloadDecision{State: DownloadNotReady}},
		{"failed", free, DownloadDecision{State: DownloadNotReady}},
		{"cancelled", free, DownloadDecision{State: DownloadNotReady}},
		{"available", free, DownloadDecision{State: DownloadAllowed, ArchiveAt: completedAt.Add(p.FreeWindow)}},
		{"available", premium, DownloadDecision{State: DownloadAllowed}},
		{"archived", free, DownloadDecision{State: DownloadUpgradeRequired}},
		{"restoring", premium, DownloadDecision{State: DownloadRestoring, Tier: RetrievalExpedited, ExpectedBy: t0.Add(time.Hour)}},
		{"restored", premium, DownloadDecision{State: DownloadAllowed}},
	}
	for _, c := range cases {
		got := DecideDownload(state(t, c.state), c.owner, p, completedAt)
		if got != c.want {
			t.Errorf("%s (premium=%v): %+v, want %+v", c.state, c.owner.Premium(), got, c.want)
		}
	}
}

// TestDecideDownloadAtWindowEnd: a free user's results are downloadable up
// to the last instant of the window and not at its end, whether or not the
// archiver has run; a premium user's never stop.
func TestDecideDownloadAtWindowEnd(t *testing.T) {
	p := DefaultPolicy()
	free, premium := newUser(t, false), newUser(t, true)
	end := t0.Add(time.Minute).Add(p.FreeWindow)
	j := state(t, "available")
	if d := DecideDownload(j, free, p, end.Add(-time.Nanosecond)); d.State != DownloadAllowed || !d.ArchiveAt.Equal(end) {
		t.Errorf("1ns before the window ends: %+v, want allowed until %s", d, end)
	}
	for _, at := range []time.Time{end, end.Add(time.Hour)} {
		if d := DecideDownload(j, free, p, at); d.State != DownloadUpgradeRequired {
			t.Errorf("at %s (window ends %s): %+v, want %s", at, end, d, DownloadUpgradeRequired)
		}
	}
	if d := DecideDownload(j, premium, p, end.Add(time.Hour)); d.State != DownloadAllowed {
		t.Errorf("premium after the window: %+v", d)
	}
}

func TestSummaryRatios(t *testing.T) {
	s := Summary{Reference: "demo", Records: 10, Variants: 12, Known: 3, Transitions: 8, Transversions: 4,
		ByImpact: map[string]int64{"HIGH": 1, "LOW": 5, "MODERATE": 5}, TopHighImpactGenes: []GeneCount{{"BRCA2", 1}},
		SkippedLines: []string{"line 7: bad POS"}, Skipped: 1}
	if s.TsTv() != 2 || s.KnownRate() != 0.25 || (Summary{}).TsTv() != 0 || (Summary{}).KnownRate() != 0 {
		t.Fatal("ratios")
	}
}

func TestInputLimitsNameTheLimitAndThePlanThatLiftsIt(t *testing.T) {
	p := DefaultPolicy()
	free, premium := p.InputLimits(TierFree), p.InputLimits(TierPremium)
	if free.Decompressed != 150<<10 || free.Records != 10_000 || premium.Decompressed != 16<<30 || premium.Records != 100_000_000 {
		t.Fatalf("limits free %+v premium %+v", free, premium)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{free.Exceeded(LimitDecompressed), "the file is larger than 150 KiB once decompressed; free accounts may annotate up to 150 KiB of VCF per job — upgrade to premium for up to 16 GiB"},
		{free.Exceeded(LimitRecords), "the file has more than 10,000 variant records; free accounts may annotate up to 10,000 records per job — upgrade to premium for up to 100,000,000 records"},
		{premium.Exceeded(LimitDecompressed), "the file is larger than 16 GiB once decompressed; the service annotates at most 16 GiB of VCF per job"},
		{premium.Exceeded(LimitRecords), "the file has more than 100,000,000 variant records; the service annotates at most 100,000,000 records per job"},
	} {
		if c.err.Error() != c.want || !errors.Is(c.err, ErrInputTooLarge) {
			t.Errorf("got %q, want %q", c.err, c.want)
		}
	}
	bad := p
	bad.FreeRecordLimit = p.MaxRecords + 1
	if bad.Validate() == nil {
		t.Error("a free record limit above the service maximum validated")
	}
	bad = p
	bad.PremiumInFlight = 0
	if bad.Validate() == nil {
		t.Error("a plan without a job in flight validated")
	}
}
