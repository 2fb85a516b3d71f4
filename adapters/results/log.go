package results

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
)

// WriteLog renders the summary of a job run with opts as the readable log
// users open from the job page.
func WriteLog(w io.Writer, s domain.Summary, opts domain.JobOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "GAS annotation summary\n")
	fmt.Fprintf(&b, "Reference:            %s\n", s.Reference)
	malformed := "fail the job"
	if opts.SkipMalformed {
		malformed = "skip them"
	}
	fmt.Fprintf(&b, "Malformed lines:      %s\n", malformed)
	writeProvenance(&b, s.Provenance)
	fmt.Fprintf(&b, "VCF records:          %d\n", s.Records)
	fmt.Fprintf(&b, "Alleles annotated:    %d\n", s.Variants)
	fmt.Fprintf(&b, "Rows (%s): %d\n", s.Unit, s.Rows)
	fmt.Fprintf(&b, "Lines skipped:        %d\n", s.Skipped)
	for _, l := range s.SkippedLines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if s.Skipped > int64(len(s.SkippedLines)) {
		fmt.Fprintf(&b, "  (the first %d reasons are listed)\n", len(s.SkippedLines))
	}
	fmt.Fprintf(&b, "Known variants:       %d (%.1f%%)\n", s.Known, 100*s.KnownRate())
	fmt.Fprintf(&b, "REF mismatches:       %d\n", s.RefMismatches)
	fmt.Fprintf(&b, "Unknown chromosome:   %d\n", s.UnknownChromosome)
	fmt.Fprintf(&b, "Past chromosome end:  %d\n", s.PastChromosomeEnd)
	if s.Counts().SuspectReference() {
		fmt.Fprintf(&b, "WARNING: this file may not match the reference %s (GRCh38 vs GRCh37?)\n", s.Reference)
	}
	fmt.Fprintf(&b, "Ts/Tv:                %.3f (%d/%d)\n", s.TsTv(), s.Transitions, s.Transversions)
	section := func(title string, m map[string]int64) {
		fmt.Fprintf(&b, "\n%s\n", title)
		if len(m) == 0 {
			fmt.Fprintf(&b, "  none\n")
		}
		for _, c := range domain.Sorted(m) {
			fmt.Fprintf(&b, "  %-36s %d\n", c.Label, c.Count)
		}
	}
	section("By impact ("+s.Unit+" rows)", s.ByImpact)
	section("By consequence ("+s.Unit+" rows)", s.ByConsequence)
	section("By warning ("+s.Unit+" rows)", s.ByWarning)
	section("By variant class", s.ByClass)
	section("By chromosome", s.ByChromosome)
	fmt.Fprintf(&b, "\nGenes with most HIGH-impact variants\n")
	for _, g := range s.TopHighImpactGenes {
		fmt.Fprintf(&b, "  %-36s %d\n", g.Gene, g.Count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeProvenance is the log's account of how the result was made.
func writeProvenance(b *strings.Builder, p domain.Provenance) {
	if p.IsZero() {
		return
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(b, "%-21s %s\n", k+":", v) // a space after the longest names too
		}
	}
	line("Engine", p.Engine)
	line("Annotation database", strings.TrimSpace(p.Database+" "+p.Checksum))
	known := p.Known
	if known == "" {
		known = "none"
	}
	line("Known variants", known)
	for _, st := range p.Settings {
		if st.Name != "Malformed lines" { // written from the job's options above
			line(st.Name, st.Value)
		}
	}
	for _, st := range p.Stages {
		fmt.Fprintf(b, "Stage: %-36s %s\n", st.Name, st.Duration.Round(time.Millisecond))
	}
}
