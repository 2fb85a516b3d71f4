package domain

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Summary is what the annotator learned about a whole input: the numbers the
// detail page charts and the readable log reports. It is stored as JSON next
// to the results, so its field names are a stable format.
type Summary struct {
	Reference          string           `json:"reference"`
	Records            int64            `json:"records"`                 // VCF data lines read
	Variants           int64            `json:"variants"`                // alleles annotated (multi-allelic records count each ALT)
	Skipped            int64            `json:"skipped"`                 // malformed lines skipped under --on-error skip
	SkippedLines       []string         `json:"skipped_lines,omitempty"` // the first few reasons, "line N: why"
	Known              int64            `json:"known"`                   // alleles found in the known-variants source
	RefMismatches      int64            `json:"ref_mismatches"`          // REF disagreeing with the reference FASTA
	Transitions        int64            `json:"transitions"`
	Transversions      int64            `json:"transversions"`
	ByConsequence      map[string]int64 `json:"by_consequence"`
	ByImpact           map[string]int64 `json:"by_impact"`
	ByClass            map[string]int64 `json:"by_class"` // SNV, MNV, insertion, deletion, indel, other
	ByChromosome       map[string]int64 `json:"by_chromosome"`
	TopHighImpactGenes []GeneCount      `json:"top_high_impact_genes"`
}

// GeneCount is one row of the most-hit genes table.
type GeneCount struct {
	Gene  string `json:"gene"`
	Count int64  `json:"count"`
}

// TsTv is the transition/transversion ratio, a standard sanity check of a
// call set (about 2.0–2.1 genome-wide for real human SNVs); 0 when undefined.
func (s Summary) TsTv() float64 {
	if s.Transversions == 0 {
		return 0
	}
	return float64(s.Transitions) / float64(s.Transversions)
}

// KnownRate is the share of annotated alleles found in the known-variants source.
func (s Summary) KnownRate() float64 {
	if s.Variants == 0 {
		return 0
	}
	return float64(s.Known) / float64(s.Variants)
}

// Counted is one bar of a chart: a label and its count, sorted for display.
type Counted struct {
	Label string
	Count int64
}

// Sorted orders a count map by count descending then label, so charts and
// logs are deterministic.
func Sorted(m map[string]int64) []Counted {
	out := make([]Counted, 0, len(m))
	for k, v := range m {
		out = append(out, Counted{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Label < out[j].Label
	})
	return out
}

// WriteLog renders the summary as the readable log users open from the job page.
func (s Summary) WriteLog(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "GAS annotation summary\n")
	fmt.Fprintf(&b, "Reference:            %s\n", s.Reference)
	fmt.Fprintf(&b, "VCF records:          %d\n", s.Records)
	fmt.Fprintf(&b, "Alleles annotated:    %d\n", s.Variants)
	fmt.Fprintf(&b, "Lines skipped:        %d\n", s.Skipped)
	for _, l := range s.SkippedLines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "Known variants:       %d (%.1f%%)\n", s.Known, 100*s.KnownRate())
	fmt.Fprintf(&b, "REF mismatches:       %d\n", s.RefMismatches)
	fmt.Fprintf(&b, "Ts/Tv:                %.3f (%d/%d)\n", s.TsTv(), s.Transitions, s.Transversions)
	section := func(title string, m map[string]int64) {
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, c := range Sorted(m) {
			fmt.Fprintf(&b, "  %-36s %d\n", c.Label, c.Count)
		}
	}
	section("By impact", s.ByImpact)
	section("By consequence", s.ByConsequence)
	section("By variant class", s.ByClass)
	section("By chromosome", s.ByChromosome)
	fmt.Fprintf(&b, "\nGenes with most HIGH-impact variants\n")
	for _, g := range s.TopHighImpactGenes {
		fmt.Fprintf(&b, "  %-36s %d\n", g.Gene, g.Count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
