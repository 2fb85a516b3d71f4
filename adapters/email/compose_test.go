package email_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/email"
	"github.com/gasproject/gas/domain"
)

func composer(t *testing.T) email.Composer {
	t.Helper()
	c, err := email.NewComposer("https://gas.example.org/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRefusesRelativeBaseURL(t *testing.T) {
	for _, base := range []string{"", "/relative", "gas.example.org"} {
		if _, err := email.NewComposer(base); err == nil {
			t.Errorf("NewComposer(%q) accepted", base)
		}
	}
}

func TestCompletedNoticeCarriesNumbersLinkAndWindow(t *testing.T) {
	done := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	n := domain.Notice{
		To: "ada@example.org", Name: "Ada", Job: "j1", Input: "sample.vcf", CompletedAt: done,
		ArchiveAt: done.Add(5 * time.Minute),
		Counts: domain.Counts{Records: 12, Variants: 14, Known: 7, Transitions: 6, Transversions: 3,
			Top: []domain.Counted{{Label: "missense_variant", Count: 4}, {Label: "synonymous_variant", Count: 2}}},
	}
	e, err := composer(t).Compose(n)
	if err != nil {
		t.Fatal(err)
	}
	if e.To != n.To || e.Subject != "GAS: annotation of sample.vcf completed" {
		t.Fatalf("addressed %q, subject %q", e.To, e.Subject)
	}
	for _, want := range []string{"Hello Ada", "https://gas.example.org/jobs/j1\n", "alleles annotated: 14",
		"Known variants: 50.0%", "Ts/Tv: 2.00", "missense_variant: 4", "until Fri, 04 Dec 2026 10:05:00 UTC"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if !strings.Contains(e.HTML, `<a href="https://gas.example.org/jobs/j1">`) {
		t.Errorf("HTML lacks the job link:\n%s", e.HTML)
	}
}

func TestFailedNoticeGivesTheReasonAndEscapesHTML(t *testing.T) {
	n := domain.Notice{To: "ada@example.org", Job: "j2", Input: `<script>x</script>.vcf`, Failed: true,
		Reason: "line 3: REF is empty"}
	e, err := composer(t).Compose(n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(e.Subject, "failed") || !strings.Contains(e.Text, "Reason: line 3: REF is empty") {
		t.Fatalf("subject %q, text:\n%s", e.Subject, e.Text)
	}
	if strings.Contains(e.HTML, "<script>") || strings.Contains(e.Text, "cold storage") || strings.Contains(e.Text, "Records:") {
		t.Fatalf("unescaped input name or archive promise in a failure:\nHTML %s\ntext %s", e.HTML, e.Text)
	}
}

// TestWrongReferenceBanner (issue 13 item 6): many REF mismatches or
// unknown chromosomes put a warning at the top of the e-mail; a few do not.
func TestWrongReferenceBanner(t *testing.T) {
	n := domain.Notice{To: "ada@example.org", Job: "j3", Input: "hg19.vcf", Reference: "GRCh38",
		Counts: domain.Counts{Records: 1000, Variants: 1000, RefMismatches: 700, UnknownChromosome: 12}}
	e, err := composer(t).Compose(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{e.Text, e.HTML} {
		if !strings.Contains(s, "may not match the reference (GRCh38 vs GRCh37?)") || !strings.Contains(s, "712 of its 1000 records") ||
			!strings.Contains(s, "against GRCh38") {
			t.Errorf("no banner:\n%s", s)
		}
	}
	n.Counts.RefMismatches, n.Counts.UnknownChromosome = 2, 0
	if e, _ := composer(t).Compose(n); strings.Contains(e.Text, "may not match") || strings.Contains(e.HTML, "may not match") {
		t.Errorf("banner for 2 mismatches in 1000 records:\n%s", e.Text)
	}
}
