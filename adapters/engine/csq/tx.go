package csq

import (
	"sort"

	"github.com/gasproject/gas/adapters/engine/model"
)

func overlap(a, b, c, d int32) bool { return a <= d && c <= b }

// txEffect appends the effect of al on transcript ti, if any: up/downstream
// when the allele lies outside the transcript, otherwise what its
// footprint on the exons, introns and splice sites says, with the protein
// change when it reaches the CDS.
func (c *Caller) txEffect(ti int32, al *allele) {
	t := &c.ref.Transcripts[ti]
	e := Effect{Tx: ti, Gene: t.Gene, Distance: -1, Warn: al.warn}
	if !al.within(t) {
		c.flankEffect(t, al, e)
		return
	}
	var fp footprint
	fp.scan(t, al)
	terms := fp.spliceTerms(t) | fp.intronTerms(t)
	exonTerms, cdsHit := fp.exonTerms(t, al)
	terms |= exonTerms
	if t.NMD() {
		terms |= NMDTranscript
	}
	if t.Coding() && t.Flags&(model.FlagStartIncomplete|model.FlagEndIncomplete) != 0 {
		e.Warn |= WarnIncompleteCDS
	}
	e.Rank, e.RankTotal = fp.rank(t)
	if fp.exonic {
		e.CDNAPos = fp.cdnaPos(t, al)
	}
	if cdsHit {
		terms |= c.cdsEffect(t, al, &e, &fp)
	}
	if terms == 0 {
		return
	}
	e.Terms = terms
	e.HGVSc = c.hgvsC(t, al, &e)
	c.effects = append(c.effects, e)
}

// within reports whether the allele touches the transcript's span (an
// insertion: falls strictly between two of its bases).
func (al *allele) within(t *model.Transcript) bool {
	if al.ins() {
		return al.vs-1 >= t.Start && al.vs <= t.End
	}
	return al.ve >= t.Start && al.vs <= t.End
}

// flankEffect appends the up- or downstream effect of an allele outside t,
// when it lies within model.Window of it.
func (c *Caller) flankEffect(t *model.Transcript, al *allele, e Effect) {
	d, low := al.distance(t)
	if d > model.Window {
		return
	}
	if low == (t.Strand == model.Forward) {
		e.Terms = Upstream
	} else {
		e.Terms = Downstream
	}
	e.Distance = d
	c.effects = append(c.effects, e)
}

// distance is how far an allele outside t lies from it, and whether on its
// low-coordinate side.
func (al *allele) distance(t *model.Transcript) (d int32, low bool) {
	if al.ins() {
		if al.vs <= t.Start {
			return t.Start - (al.vs - 1), true
		}
		return al.vs - t.End, false
	}
	if al.ve < t.Start {
		return t.Start - al.ve, true
	}
	return al.vs - t.End, false
}

// footprint is where an allele falls in a transcript's exon structure.
type footprint struct {
	exonic, intronic bool
	// boundaryIns: an insertion between an intron and the first base of
	// an internal exon (counted as exonic, as bcftools does)
	boundaryIns bool
	// lowSite, highSite: the first / last two bases of an intron (in
	// genomic order) are touched
	lowSite, highSite   bool
	spliceRegion        bool
	firstExon, lastExon int // exons touched (-1: none)
	intron              int // first intron touched (-1: none)
}

// scan walks the exons near the allele (splice regions reach 8 bases into
// an intron) and the introns after them.
func (fp *footprint) scan(t *model.Transcript, al *allele) {
	*fp = footprint{firstExon: -1, lastExon: -1, intron: -1}
	exons := t.Exons
	n := len(exons)
	i0 := max(sort.Search(n, func(k int) bool { return exons[k].End >= al.vs-9 })-1, 0)
	for i := i0; i < n; i++ {
		ex := exons[i]
		if ex.Start > al.ve+9 && i > i0 {
			break
		}
		fp.exon(al, i, n, ex)
		if i == n-1 {
			break
		}
		if a, b := ex.End+1, exons[i+1].Start-1; a <= b {
			if al.ins() {
				fp.intronIns(al.vs, i, a, b)
			} else {
				fp.intronSpan(al, i, a, b)
			}
		}
	}
}

// exon notes exon i of n: whether the allele is in it and whether it
// touches its splice region (the three exon bases at an internal boundary).
func (fp *footprint) exon(al *allele, i, n int, ex model.Range) {
	hit, boundary := al.inExon(ex, i > 0)
	if hit {
		fp.exonic = true
		fp.boundaryIns = fp.boundaryIns || boundary
		if fp.firstExon < 0 {
			fp.firstExon = i
		}
		fp.lastExon = i
	}
	if al.exonSpliceRegion(ex, i > 0, i < n-1) {
		fp.spliceRegion = true
	}
}

// inExon reports whether the allele changes bases of ex. An insertion
// counts when it lands inside the exon, or right before its first base when
// the exon is not the first (boundary is then true).
func (al *allele) inExon(ex model.Range, notFirst bool) (hit, boundary bool) {
	if !al.ins() {
		return overlap(al.vs, al.ve, ex.Start, ex.End), false
	}
	p := al.vs
	switch {
	case p > ex.Start && p <= ex.End:
		return true, false
	case p == ex.Start && notFirst:
		return true, true
	}
	return false, false
}

// exonSpliceRegion reports whether the allele touches the exon side of an
// internal exon boundary.
func (al *allele) exonSpliceRegion(ex model.Range, notFirst, notLast bool) bool {
	if al.ins() {
		p := al.vs
		return (notFirst && p >= ex.Start && p <= min(ex.Start+3, ex.End)) ||
			(notLast && p >= max(ex.End-1, ex.Start+1) && p <= ex.End)
	}
	return (notFirst && overlap(al.vs, al.ve, ex.Start, min(ex.Start+2, ex.End))) ||
		(notLast && overlap(al.vs, al.ve, max(ex.End-2, ex.Start), ex.End))
}

// intronIns notes an insertion before base p against intron i (bases a..b).
func (fp *footprint) intronIns(p int32, i int, a, b int32) {
	if p >= a && p <= b {
		fp.touchIntron(i)
	}
	if p >= a && p <= min(a+1, b) {
		fp.lowSite = true
	}
	if p == b && b-1 >= a {
		fp.highSite = true
	}
	if (p >= a+2 && p <= a+7 && p <= b) || (p >= max(b-6, a) && p <= b-1) {
		fp.spliceRegion = true
	}
}

// intronSpan notes a substitution or deletion against intron i (bases a..b).
func (fp *footprint) intronSpan(al *allele, i int, a, b int32) {
	if overlap(al.vs, al.ve, a, b) {
		fp.touchIntron(i)
	}
	if overlap(al.vs, al.ve, a, min(a+1, b)) {
		fp.lowSite = true
	}
	if overlap(al.vs, al.ve, max(b-1, a), b) {
		fp.highSite = true
	}
	if (a+2 <= b && overlap(al.vs, al.ve, a+2, min(a+7, b))) || (b-2 >= a && overlap(al.vs, al.ve, max(b-7, a), b-2)) {
		fp.spliceRegion = true
	}
}

func (fp *footprint) touchIntron(i int) {
	fp.intronic = true
	if fp.intron < 0 {
		fp.intron = i
	}
}

// spliceTerms names the splice sites and regions touched: an intron's low
// end is the donor on the forward strand, the acceptor on the reverse one.
func (fp *footprint) spliceTerms(t *model.Transcript) Term {
	var terms Term
	if fp.spliceRegion {
		terms |= SpliceRegion
	}
	low, high := SpliceDonor, SpliceAcceptor
	if t.Strand != model.Forward {
		low, high = SpliceAcceptor, SpliceDonor
	}
	if fp.lowSite {
		terms |= low
	}
	if fp.highSite {
		terms |= high
	}
	return terms
}

func (fp *footprint) intronTerms(t *model.Transcript) Term {
	switch {
	case !fp.intronic:
		return 0
	case t.Coding():
		return Intron
	}
	return Intron | NonCodingTranscript
}

// exonTerms classifies the exonic part of the allele: non-coding exon, UTR
// on either side of the CDS, and whether the CDS itself is touched.
func (fp *footprint) exonTerms(t *model.Transcript, al *allele) (terms Term, cdsHit bool) {
	switch {
	case !fp.exonic:
		return 0, false
	case !t.Coding():
		return NonCodingExon, false
	case al.ins():
		p := al.vs
		switch {
		case p > t.CDSStart && p <= t.CDSEnd:
			return 0, true
		case p <= t.CDSStart:
			return utrLow(t), false
		}
		return utrHigh(t), false
	}
	// exonic bases below, inside and above the CDS
	for i := fp.firstExon; i <= fp.lastExon; i++ {
		ex := t.Exons[i]
		s, en := max(ex.Start, al.vs), min(ex.End, al.ve)
		if s > en {
			continue
		}
		if s < t.CDSStart {
			terms |= utrLow(t)
		}
		if en > t.CDSEnd {
			terms |= utrHigh(t)
		}
		if overlap(s, en, t.CDSStart, t.CDSEnd) {
			cdsHit = true
		}
	}
	return terms, cdsHit
}

// utrLow is the UTR on the low-coordinate side of the CDS.
func utrLow(t *model.Transcript) Term {
	if t.Strand == model.Forward {
		return UTR5
	}
	return UTR3
}

// utrHigh is the UTR on the high-coordinate side of the CDS.
func utrHigh(t *model.Transcript) Term {
	if t.Strand == model.Forward {
		return UTR3
	}
	return UTR5
}

// rank is the exon (n/N) or, for a purely intronic allele, the intron
// (n/N-1) it falls in, counted in transcript order; 0/0 when neither.
func (fp *footprint) rank(t *model.Transcript) (rank, total int32) {
	n := int32(len(t.Exons))
	switch {
	case fp.exonic && t.Strand == model.Forward:
		return int32(fp.firstExon) + 1, n
	case fp.exonic:
		return n - int32(fp.lastExon), n
	case fp.intronic && t.Strand == model.Forward:
		return int32(fp.intron) + 1, n - 1
	case fp.intronic:
		return n - 1 - int32(fp.intron), n - 1
	}
	return 0, 0
}

// cdnaPos is the cDNA position of the allele's first base in transcript
// order (for an insertion, of the base after it), or of its first exonic
// base when that one is intronic.
func (fp *footprint) cdnaPos(t *model.Transcript, al *allele) int32 {
	g := al.vs
	switch {
	case al.ins() && t.Strand == model.Reverse && !fp.boundaryIns:
		g = al.vs - 1
	case al.ins():
	case t.Strand == model.Reverse:
		g = al.ve
	}
	g = min(max(g, t.Start), t.End)
	if loc := t.Locate(g); loc.Exonic {
		return loc.CDNA
	}
	var pos int32
	for gg := al.vs; gg <= al.ve; gg++ {
		if l := t.Locate(gg); l.Exonic {
			pos = l.CDNA
			if t.Strand == model.Forward {
				break
			}
		}
	}
	return pos
}

// cdsEffect predicts the coding consequence: codon by codon when the edit
// lies within one exon's CDS, from its length and the start/stop codons
// when it also reaches an intron, a UTR or another exon.
func (c *Caller) cdsEffect(t *model.Transcript, al *allele, e *Effect, fp *footprint) Term {
	local := !fp.intronic && fp.firstExon == fp.lastExon
	if !al.ins() && (al.vs < t.CDSStart || al.ve > t.CDSEnd) {
		local = false
	}
	if local {
		return c.coding(t, al, e)
	}
	return c.codingBoundary(t, al, e)
}
