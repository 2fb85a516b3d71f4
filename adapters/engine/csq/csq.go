package csq

import (
	"sort"

	"github.com/gasproject/gas/adapters/engine/model"
)

// Warning flags printed in the ANN Warnings field.
type Warning uint8

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
)

var warnNames = [...]string{
	"WARNING_REF_DOES_NOT_MATCH_GENOME", "WARNING_TRANSCRIPT_INCOMPLETE", "INFO_REALIGN_3_PRIME",
	"INFO_SYMBOLIC_ALLELE_NOT_ANNOTATED", "INFO_STAR_ALLELE_NOT_ANNOTATED", "WARNING_SEQUENCE_NOT_AVAILABLE",
	"ERROR_CHROMOSOME_NOT_FOUND",
}

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

func overlap(a, b, c, d int32) bool { return a <= d && c <= b }

// txEffect appends the effect of al on transcript ti, if any.
func (c *Caller) txEffect(ti int32, al *allele) {
	t := &c.ref.Transcripts[ti]
	e := Effect{Tx: ti, Gene: t.Gene, Distance: -1, Warn: al.warn}
	ins := al.ins()
	q, P := al.vs-1, al.vs // insertion flanks
	var inside bool
	if ins {
		inside = q >= t.Start && P <= t.End
	} else {
		inside = al.ve >= t.Start && al.vs <= t.End
	}
	if !inside {
		var d int32
		left := false
		if ins {
			if P <= t.Start {
				left, d = true, t.Start-q
			} else {
				d = P - t.End
			}
		} else if al.ve < t.Start {
			left, d = true, t.Start-al.ve
		} else {
			d = al.vs - t.End
		}
		if d > model.Window {
			return
		}
		if left == (t.Strand == model.Forward) {
			e.Terms = Upstream
		} else {
			e.Terms = Downstream
		}
		e.Distance = d
		c.effects = append(c.effects, e)
		return
	}

	exons := t.Exons
	n := len(exons)
	var terms Term
	exonic, intronic := false, false
	boundaryIns := false // insertion between an intron and the first base of an internal exon
	leftSite, rightSite := false, false
	firstExon, lastExon := -1, -1
	intronIdx := -1
	// only exons near the variant matter (splice regions reach 8 bases)
	i0 := sort.Search(n, func(k int) bool { return exons[k].End >= al.vs-9 }) - 1
	if i0 < 0 {
		i0 = 0
	}
	for i := i0; i < n; i++ {
		ex := exons[i]
		if ex.Start > al.ve+9 && i > i0 {
			break
		}
		if ins {
			if P > ex.Start && P <= ex.End {
				exonic = true
			} else if P == ex.Start && i > 0 {
				exonic, boundaryIns = true, true
			} else {
				goto introns
			}
		} else if !overlap(al.vs, al.ve, ex.Start, ex.End) {
			goto introns
		} else {
			exonic = true
		}
		if firstExon < 0 {
			firstExon = i
		}
		lastExon = i
	introns:
		// exon-side splice region at internal boundaries
		if ins {
			if i > 0 && P >= ex.Start && P <= min(ex.Start+3, ex.End) {
				terms |= SpliceRegion
			}
			if i < n-1 && P >= max(ex.End-1, ex.Start+1) && P <= ex.End {
				terms |= SpliceRegion
			}
		} else {
			if i > 0 && overlap(al.vs, al.ve, ex.Start, min(ex.Start+2, ex.End)) {
				terms |= SpliceRegion
			}
			if i < n-1 && overlap(al.vs, al.ve, max(ex.End-2, ex.Start), ex.End) {
				terms |= SpliceRegion
			}
		}
		if i == n-1 {
			break
		}
		a, b := ex.End+1, exons[i+1].Start-1
		if a > b {
			continue
		}
		if ins {
			if P >= a && P <= b {
				intronic = true
				if intronIdx < 0 {
					intronIdx = i
				}
			}
			if P >= a && P <= min(a+1, b) {
				leftSite = true
			}
			if P >= a+2 && P <= a+7 && P <= b {
				terms |= SpliceRegion
			}
			if P == b && b-1 >= a {
				rightSite = true
			}
			if P >= max(b-6, a) && P <= b-1 {
				terms |= SpliceRegion
			}
		} else {
			if overlap(al.vs, al.ve, a, b) {
				intronic = true
				if intronIdx < 0 {
					intronIdx = i
				}
			}
			if overlap(al.vs, al.ve, a, min(a+1, b)) {
				leftSite = true
			}
			if overlap(al.vs, al.ve, max(b-1, a), b) {
				rightSite = true
			}
			if (a+2 <= b && overlap(al.vs, al.ve, a+2, min(a+7, b))) || (b-2 >= a && overlap(al.vs, al.ve, max(b-7, a), b-2)) {
				terms |= SpliceRegion
			}
		}
	}
	if leftSite {
		if t.Strand == model.Forward {
			terms |= SpliceDonor
		} else {
			terms |= SpliceAcceptor
		}
	}
	if rightSite {
		if t.Strand == model.Forward {
			terms |= SpliceAcceptor
		} else {
			terms |= SpliceDonor
		}
	}
	coding := t.Coding()
	if intronic {
		terms |= Intron
		if !coding {
			terms |= NonCodingTranscript
		}
	}
	var cdsHit bool
	if exonic {
		if !coding {
			terms |= NonCodingExon
		} else if ins {
			if P > t.CDSStart && P <= t.CDSEnd {
				cdsHit = true
			} else if P <= t.CDSStart {
				terms |= c.utrLow(t)
			} else {
				terms |= c.utrHigh(t)
			}
		} else {
			// exonic bases below, inside and above the CDS
			for i := firstExon; i <= lastExon; i++ {
				ex := exons[i]
				s, en := max(ex.Start, al.vs), min(ex.End, al.ve)
				if s > en {
					continue
				}
				if s < t.CDSStart {
					terms |= c.utrLow(t)
				}
				if en > t.CDSEnd {
					terms |= c.utrHigh(t)
				}
				if overlap(s, en, t.CDSStart, t.CDSEnd) {
					cdsHit = true
				}
			}
		}
	}
	if t.NMD() {
		terms |= NMDTranscript
	}
	if t.Coding() && t.Flags&(model.FlagStartIncomplete|model.FlagEndIncomplete) != 0 {
		e.Warn |= WarnIncompleteCDS
	}

	// rank
	if exonic {
		fe := firstExon
		if t.Strand == model.Reverse {
			fe = lastExon
		}
		if t.Strand == model.Forward {
			e.Rank = int32(fe) + 1
		} else {
			e.Rank = int32(n - fe)
		}
		e.RankTotal = int32(n)
	} else if intronic {
		if t.Strand == model.Forward {
			e.Rank = int32(intronIdx) + 1
		} else {
			e.Rank = int32(n - 1 - intronIdx)
		}
		e.RankTotal = int32(n - 1)
	}

	// positions
	if exonic {
		g := al.vs
		if ins {
			g = P
			if t.Strand == model.Reverse && !boundaryIns {
				g = q
			}
		} else if t.Strand == model.Reverse {
			g = al.ve
		}
		if g < t.Start {
			g = t.Start
		}
		if g > t.End {
			g = t.End
		}
		if loc := t.Locate(g); loc.Exonic {
			e.CDNAPos = loc.CDNA
		} else {
			// first exonic base of the variant in transcript order
			for gg := al.vs; gg <= al.ve; gg++ {
				if l := t.Locate(gg); l.Exonic {
					e.CDNAPos = l.CDNA
					if t.Strand == model.Forward {
						break
					}
				}
			}
		}
	}

	if cdsHit {
		simple := !intronic && firstExon == lastExon
		if !ins && (al.vs < t.CDSStart || al.ve > t.CDSEnd) {
			simple = false
		}
		if simple {
			terms |= c.coding(t, al, &e, boundaryIns)
		} else {
			terms |= c.codingBoundary(t, al, &e)
		}
	}
	e.Terms = terms
	if terms == 0 {
		return
	}
	e.HGVSc = c.hgvsC(t, al, &e)
	c.effects = append(c.effects, e)
}

// utrLow is the UTR on the low-coordinate side of the CDS.
func (c *Caller) utrLow(t *model.Transcript) Term {
	if t.Strand == model.Forward {
		return UTR5
	}
	return UTR3
}

func (c *Caller) utrHigh(t *model.Transcript) Term {
	if t.Strand == model.Forward {
		return UTR3
	}
	return UTR5
}

// codingBoundary handles an edit that touches the CDS and also an intron or
// UTR (or several exons): the protein change cannot be predicted locally, so
// it is reported as coding_sequence_variant plus what the length change and
// the start/stop codons say.
func (c *Caller) codingBoundary(t *model.Transcript, al *allele, e *Effect) Term {
	terms := CodingSequence
	d := len(al.alt) - len(al.ref)
	enters := false // the deletion enters an exon from its low-coordinate side
	for _, ex := range t.Exons {
		if al.vs < ex.Start && al.ve >= ex.Start {
			enters = true
		}
	}
	if len(al.alt) == 0 && !enters {
		// a deletion leaving an exon into the intron: the frame changes by
		// the number of coding bases removed
		var n int32
		for _, ex := range t.Exons {
			a, b := max(max(ex.Start, t.CDSStart), al.vs), min(min(ex.End, t.CDSEnd), al.ve)
			if a <= b {
				n += b - a + 1
			}
		}
		d = -int(n)
	}
	if d%3 != 0 {
		terms |= Frameshift
	} else if d < 0 {
		terms |= InframeDeletion
	} else if d > 0 {
		terms |= InframeInsertion
	}
	// start / stop codons touched?
	lo, hi := al.vs, al.ve
	startG0, startG1 := c.codonSpan(t, 1)
	stopG0, stopG1 := c.codonSpan(t, t.CDSLen()-2)
	if t.Flags&model.FlagStartOK != 0 && startG0 > 0 && overlap(lo, hi, startG0, startG1) {
		terms |= StartLost
	}
	if t.Flags&model.FlagStopOK != 0 && stopG0 > 0 && overlap(lo, hi, stopG0, stopG1) {
		terms |= StopLost
	}
	// CDS position of the first coding base touched (transcript order)
	for g := al.vs; g <= al.ve; g++ {
		if g < t.CDSStart || g > t.CDSEnd {
			continue
		}
		if l := t.Locate(g); l.Exonic {
			cp := l.CDNA - cdsFrom(t) + 1
			if e.CDSPos == 0 || cp < e.CDSPos {
				e.CDSPos = cp
			}
		}
	}
	if e.CDSPos > 0 {
		e.AAPos = aaIndex(t, e.CDSPos)
	}
	return terms
}

func cdsFrom(t *model.Transcript) int32 { a, _ := t.CDSRange(); return a }

// aaIndex is the protein position (1-based) of CDS position cp.
func aaIndex(t *model.Transcript, cp int32) int32 {
	p := int32(t.Phase)
	if cp <= p {
		return 1
	}
	return (cp-p-1)/3 + 1
}

// codonSpan returns the genomic span (low, high) of the three CDS bases
// starting at CDS position cp (0, 0 when they are not all mapped).
func (c *Caller) codonSpan(t *model.Transcript, cp int32) (int32, int32) {
	f := cdsFrom(t)
	g0, ok0 := t.GenomicOf(f + cp - 1)
	g1, ok1 := t.GenomicOf(f + cp + 1)
	if !ok0 || !ok1 {
		return 0, 0
	}
	if g0 > g1 {
		g0, g1 = g1, g0
	}
	return g0, g1
}
