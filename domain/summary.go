package domain

import (
	"sort"
)

// RowUnit names the unit the summary's tallies and the variant table count:
// one ALT allele on one transcript (one ANN entry; VEP's rows).
const RowUnit = "ALT allele × transcript"

// Summary is what the annotator learned about a whole input: the numbers the
// detail page charts and the readable log reports. It is stored as JSON next
// to the results, so its field names are a stable format.
//
// ByConsequence, ByImpact and ByWarning count rows of Unit (a row with two
// terms counts for each); MostSevere counts what the one-row-per-allele
// view shows for each value: alleles with at least one such row. Summaries
// stored before Unit existed have it empty and counted alleles.
type Summary struct {
	Reference          string           `json:"reference"`
	Records            int64            `json:"records"`                 // VCF data lines read
	Variants           int64            `json:"variants"`                // alleles annotated (multi-allelic records count each ALT)
	Skipped            int64            `json:"skipped"`                 // malformed lines skipped under --on-error skip
	SkippedLines       []string         `json:"skipped_lines,omitempty"` // the first few reasons, "line N: why"
	Known              int64            `json:"known"`                   // alleles found in the known-variants source (or with an ID in the input)
	RefMismatches      int64            `json:"ref_mismatches"`          // records whose REF disagrees with the reference FASTA
	UnknownChromosome  int64            `json:"unknown_chromosome"`      // records on a chromosome the reference lacks
	PastChromosomeEnd  int64            `json:"past_chromosome_end"`     // records reaching past their chromosome's end
	Transitions        int64            `json:"transitions"`
	Transversions      int64            `json:"transversions"`
	Unit               string           `json:"unit,omitempty"` // RowUnit
	Rows               int64            `json:"rows"`           // rows of Unit
	ByConsequence      map[string]int64 `json:"by_consequence"`
	ByImpact           map[string]int64 `json:"by_impact"`
	ByWarning          map[string]int64 `json:"by_warning,omitempty"`
	MostSevere         Tally            `json:"most_severe,omitzero"`
	ByClass            map[string]int64 `json:"by_class"` // SNV, MNV, insertion, deletion, indel, other
	ByChromosome       map[string]int64 `json:"by_chromosome"`
	TopHighImpactGenes []GeneCount      `json:"top_high_impact_genes"`
	Provenance         Provenance       `json:"provenance,omitzero"` // how the result was made
}

// Tally counts one view of the table by consequence, impact and warning.
type Tally struct {
	ByConsequence map[string]int64 `json:"by_consequence,omitempty"`
	ByImpact      map[string]int64 `json:"by_impact,omitempty"`
	ByWarning     map[string]int64 `json:"by_warning,omitempty"`
}

// TopCount is how many consequences Counts keeps.
const TopCount = 5

// Counts are a completed job's headline numbers. They are kept on the job
// itself, so the job list, the API and the e-mail telling the owner can
// show them without opening the results.
type Counts struct {
	Records       int64 `json:"records"`
	Variants      int64 `json:"variants"`
	Skipped       int64 `json:"skipped"`
	Known         int64 `json:"known"`
	RefMismatches int64 `json:"ref_mismatches"`
	// UnknownChromosome and PastChromosomeEnd count records the reference
	// cannot place, like RefMismatches a sign of the wrong reference.
	UnknownChromosome int64 `json:"unknown_chromosome,omitempty"`
	PastChromosomeEnd int64 `json:"past_chromosome_end,omitempty"`
	Transitions       int64 `json:"transitions"`
	Transversions     int64 `json:"transversions"`
	// Top are the most frequent consequences, most frequent first (at
	// most TopCount), in the summary's unit.
	Top []Counted `json:"top,omitempty"`
}

// Counts are the summary's headline numbers.
func (s Summary) Counts() Counts {
	top := Sorted(s.ByConsequence)
	return Counts{
		Records: s.Records, Variants: s.Variants, Skipped: s.Skipped, Known: s.Known, RefMismatches: s.RefMismatches,
		UnknownChromosome: s.UnknownChromosome, PastChromosomeEnd: s.PastChromosomeEnd,
		Transitions: s.Transitions, Transversions: s.Transversions, Top: top[:min(len(top), TopCount)],
	}
}

// SuspectReference reports whether the input looks annotated against the
// wrong reference (another assembly, GRCh37 for GRCh38): at least one
// record in twenty, and at least three (or every record of a smaller
// file), has a REF the reference disagrees with, lies on a chromosome it
// lacks or past a chromosome's end. A right reference leaves well under
// one in a thousand such records; a wrong assembly most of them.
func (c Counts) SuspectReference() bool {
	bad := c.RefMismatches + c.UnknownChromosome + c.PastChromosomeEnd
	return bad > 0 && bad >= min(3, c.Records) && bad*20 >= c.Records
}

// TsTv is the transition/transversion ratio, a standard sanity check of a
// call set (about 2.0–2.1 genome-wide for real human SNVs); 0 when undefined.
func (c Counts) TsTv() float64 {
	if c.Transversions == 0 {
		return 0
	}
	return float64(c.Transitions) / float64(c.Transversions)
}

// KnownRate is the share of annotated alleles found in the known-variants source.
func (c Counts) KnownRate() float64 {
	if c.Variants == 0 {
		return 0
	}
	return float64(c.Known) / float64(c.Variants)
}

// GeneCount is one row of the most-hit genes table.
type GeneCount struct {
	Gene  string `json:"gene"`
	Count int64  `json:"count"`
}

// TsTv is the transition/transversion ratio (see Counts.TsTv).
func (s Summary) TsTv() float64 {
	return Counts{Transitions: s.Transitions, Transversions: s.Transversions}.TsTv()
}

// KnownRate is the share of annotated alleles found in the known-variants source.
func (s Summary) KnownRate() float64 { return Counts{Variants: s.Variants, Known: s.Known}.KnownRate() }

// Counted is one bar of a chart: a label and its count, sorted for display.
type Counted struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
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
