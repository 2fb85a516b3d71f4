package results

import (
	"strings"
	"testing"

	"github.com/gasproject/gas/domain"
)

func TestLogSaysWhatTheSummaryCounted(t *testing.T) {
	s := domain.Summary{Reference: "demo", Records: 10, Variants: 12, Known: 3, Transitions: 8, Transversions: 4,
		ByImpact: map[string]int64{"HIGH": 1, "LOW": 5, "MODERATE": 5}, TopHighImpactGenes: []domain.GeneCount{{Gene: "BRCA2", Count: 1}},
		SkippedLines: []string{"line 7: bad POS"}, Skipped: 1}
	var b strings.Builder
	if err := WriteLog(&b, s, domain.JobOptions{}); err != nil {
		t.Fatal(err)
	}
	log := b.String()
	for _, want := range []string{"Reference:            demo", "Ts/Tv:                2.000 (8/4)", "Known variants:       3 (25.0%)", "line 7: bad POS", "BRCA2"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// A long setting name keeps a space before its value; an empty
	// section says so.
	s.Provenance = domain.Provenance{Engine: "gas test", Settings: []domain.Setting{{Name: "Engine goroutines per job", Value: "4"}}}
	b.Reset()
	if err := WriteLog(&b, s, domain.JobOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Engine:               gas test\n", "Engine goroutines per job: 4\n", "By warning ( rows)\n  none\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, b.String())
		}
	}
	// Sorted: count descending, then label.
	if strings.Index(log, "LOW") > strings.Index(log, "MODERATE") || strings.Index(log, "MODERATE") > strings.Index(log, "  HIGH") {
		t.Errorf("impact order wrong:\n%s", log)
	}
}
