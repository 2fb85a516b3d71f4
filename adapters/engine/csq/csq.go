package csq

import (
	"github.com/gasproject/gas/adapters/engine/model"
)

// Warning flags printed in the ANN Warnings field (ERRORS/WARNINGS/INFO),
// in SnpEff's vocabulary where it has a code. Besides problems they carry
// two INFO flags naming the transcript as selected (canonical, MANE
// Select), so ANN stays sixteen fields for every reader.
type Warning uint16

// Warnings.
const (
	// WarnRefMismatch: the VCF REF disagrees with the reference sequence.
	WarnRefMismatch Warning = 1 << iota
	// WarnIncompleteCDS: the transcript's CDS lacks a start or stop codon.
	WarnIncompleteCDS
	// WarnShifted: HGVS c. describes the indel shifted 3' (HGVS rule).
	WarnShifted
	// WarnSymbolic: a symbolic allele (<DEL>, breakend) is passed through unannotated.
	WarnSymbolic
	// WarnStar: a '*' allele (overlapping deletion) is passed through unannotated.
	WarnStar
	// WarnNoSequence: the reference sequence needed for a prediction is not stored.
	WarnNoSequence
	// WarnNoChrom: the chromosome is not in the reference.
	WarnNoChrom
	// WarnPastEnd: the allele lies (partly) past the chromosome's end.
	WarnPastEnd
	// WarnCanonical: the entry's transcript is its gene's canonical one.
	WarnCanonical
	// WarnMANESelect: the entry's transcript is its gene's MANE Select one.
	WarnMANESelect
	numWarnings = iota
)

var warnNames = [numWarnings]string{
	"WARNING_REF_DOES_NOT_MATCH_GENOME", "WARNING_TRANSCRIPT_INCOMPLETE", "INFO_REALIGN_3_PRIME",
	"INFO_SYMBOLIC_ALLELE_NOT_ANNOTATED", "INFO_STAR_ALLELE_NOT_ANNOTATED", "WARNING_SEQUENCE_NOT_AVAILABLE",
	"ERROR_CHROMOSOME_NOT_FOUND", "ERROR_OUT_OF_CHROMOSOME_RANGE", "INFO_CANONICAL", "INFO_MANE_SELECT",
}

// Tags are the warnings that describe the transcript rather than a problem.
const Tags = WarnCanonical | WarnMANESelect

// Problems are the warnings a researcher filters on: everything but the
// transcript tags and the HGVS shift note.
const Problems = Warning(1<<numWarnings-1) &^ (Tags | WarnShifted)

// WarningNames lists the code of every warning bit, bit 0 first.
func WarningNames() []string { return warnNames[:] }

// span locates a string in Caller.text.
type span struct{ a, b int32 }

// Effect is one ANN entry: an allele's consequence on one feature.
type Effect struct {
	Terms     Term
	Tx        int32 // transcript index, -1 for intergenic
	Gene      int32 // gene index, -1 when none
	Rank      int32
	RankTotal int32
	HGVSc     span
	HGVSp     span
	CDNAPos   int32
	CDSPos    int32
	AAPos     int32
	Distance  int32 // -1 when not applicable
	Warn      Warning
}

// Caller computes effects. It is not safe for concurrent use: give each
// goroutine its own (they share the read-only Reference).
type Caller struct {
	ref     *model.Reference
	labels  *Labels
	near    []int32
	effects []Effect
	text    []byte
	b1, b2  []byte
	b3, b4  []byte
	aaRef   []byte
	aaAlt   []byte
	gap     gapCache
	seq     model.SeqCursor
}

// NewCaller makes a Caller over ref.
func NewCaller(ref *model.Reference) *Caller {
	return &Caller{ref: ref, labels: NewLabels(ref)}
}

// NewCallerWith makes a Caller sharing labels rendered by NewLabels(ref).
func NewCallerWith(ref *model.Reference, labels *Labels) *Caller {
	return &Caller{ref: ref, labels: labels}
}

// Reference is the data the caller annotates against.
func (c *Caller) Reference() *model.Reference { return c.ref }

// allele is a normalised variant allele in genomic coordinates.
type allele struct {
	chrom  int32
	vs, ve int32  // affected span; for an insertion ve == vs-1 (between vs-1 and vs)
	ref    []byte // trimmed
	alt    []byte // trimmed
	warn   Warning
}

func (a *allele) ins() bool { return len(a.ref) == 0 }

// Annotate returns the effects of replacing ref with alt at pos (1-based VCF
// POS) on chrom. The slice and the strings it points to are valid until the
// next call. ref and alt must be upper-case bases.
func (c *Caller) Annotate(chrom int32, pos int32, ref, alt []byte, warn Warning) []Effect {
	c.effects = c.effects[:0]
	c.text = c.text[:0]
	// Trim the common suffix, then the common prefix (as bcftools does). An
	// insertion keeps its left anchor through the suffix trim, so T>TT is
	// placed after the T, where the VCF writer anchored it.
	r, a := ref, alt
	keep := 0
	if len(a) > len(r) {
		keep = 1
	}
	for len(r) > keep && len(a) > keep && r[len(r)-1] == a[len(a)-1] {
		r, a = r[:len(r)-1], a[:len(a)-1]
	}
	p := pos
	for len(r) > 0 && len(a) > 0 && r[0] == a[0] {
		r, a = r[1:], a[1:]
		p++
	}
	al := allele{chrom: chrom, vs: p, ve: p + int32(len(r)) - 1, ref: r, alt: a, warn: warn}
	if len(r) == 0 && len(a) == 0 {
		// no change at all (REF == ALT): nothing to predict
		c.effects = append(c.effects, Effect{Terms: SequenceVariant, Tx: -1, Gene: -1, Distance: -1, Warn: warn})
		return c.effects
	}
	lo, hi := al.vs-1, al.ve
	if hi < al.vs {
		hi = al.vs
	}
	c.near = c.ref.Near(c.near[:0], chrom, lo, hi)
	for _, ti := range c.near {
		c.txEffect(ti, &al)
	}
	if len(c.effects) == 0 {
		g, d := c.nearestGene(chrom, al.vs, max(al.ve, al.vs))
		c.effects = append(c.effects, Effect{Terms: Intergenic, Tx: -1, Gene: g, Distance: d, Warn: warn})
	}
	return c.effects
}

// nearestGene answers from a cache of the last gap between genes: sorted
// input asks about the same gap many times in a row.
func (c *Caller) nearestGene(chrom, start, end int32) (int32, int32) {
	k := &c.gap
	if k.ok && chrom == k.chrom && start > k.lo && end < k.hi {
		dl, dr := start-k.lo, k.hi-end
		if k.left >= 0 && (k.right < 0 || dl <= dr) {
			return k.left, dl
		}
		if k.right >= 0 {
			return k.right, dr
		}
	}
	g, d := c.ref.NearestGene(chrom, start, end)
	left, right, lo, hi := c.ref.GeneGap(chrom, start, end)
	*k = gapCache{ok: left >= 0 || right >= 0, chrom: chrom, left: left, right: right, lo: lo, hi: hi}
	return g, d
}

type gapCache struct {
	ok          bool
	chrom       int32
	left, right int32 // genes bounding the gap (-1: none)
	lo, hi      int32 // the gap is strictly between lo and hi
}

// Passthrough returns the single effect noted for an allele that is not
// annotated (symbolic or '*').
func (c *Caller) Passthrough(w Warning) []Effect {
	c.effects = append(c.effects[:0], Effect{Terms: SequenceVariant, Tx: -1, Gene: -1, Distance: -1, Warn: w})
	c.text = c.text[:0]
	return c.effects
}
