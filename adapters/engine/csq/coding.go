package csq

import (
	"github.com/gasproject/gas/adapters/engine/model"
)

// cdnaSeq appends to dst the transcript-orientation bases of cDNA positions
// from..to (clipped to the transcript); ok is false when the stored
// sequence does not cover them.
func (c *Caller) cdnaSeq(dst []byte, t *model.Transcript, from, to int32) ([]byte, bool) {
	if from < 1 {
		from = 1
	}
	if to > t.CDNALen() {
		to = t.CDNALen()
	}
	if from > to {
		return dst, true
	}
	n := t.NumExons()
	var cum int32
	for k := 0; k < n; k++ {
		ex := t.ExonInTxOrder(k)
		l := ex.Len()
		a, b := max(from, cum+1), min(to, cum+l)
		if a <= b {
			// exon-relative offsets
			oa, ob := a-cum-1, b-cum-1
			if t.Strand == model.Forward {
				s := c.ref.SeqAt(&c.seq, t.Chrom, ex.Start+oa, ex.Start+ob)
				if s == nil {
					return dst, false
				}
				dst = append(dst, s...)
			} else {
				s := c.ref.SeqAt(&c.seq, t.Chrom, ex.End-ob, ex.End-oa)
				if s == nil {
					return dst, false
				}
				for i := len(s) - 1; i >= 0; i-- {
					dst = append(dst, model.Complement(s[i]))
				}
			}
		}
		cum += l
		if cum >= to {
			break
		}
	}
	return dst, true
}

func translate(dst, s []byte) []byte {
	for i := 0; i+2 < len(s); i += 3 {
		dst = append(dst, model.Translate(s[i], s[i+1], s[i+2]))
	}
	return dst
}

// txOriented returns b in transcript orientation (reverse complement on the
// reverse strand), using dst as storage.
func txOriented(dst []byte, t *model.Transcript, b []byte) []byte {
	if t.Strand == model.Forward {
		return append(dst[:0], b...)
	}
	return model.ReverseComplement(dst, b)
}

// coding predicts the protein change of an edit lying inside one exon's
// CDS: the codons it touches are rebuilt with the alt bases and translated
// (on to the next stop when the frame shifts or the stop codon goes).
func (c *Caller) coding(t *model.Transcript, al *allele, e *Effect) Term {
	f := editStart(t, al)
	e.CDSPos = f
	if al.ins() && f > 1 {
		e.CDSPos = f - 1
	}
	if f <= int32(t.Phase) || f < 1 || f > t.CDSLen()+1 {
		return CodingSequence
	}
	ed := newCDSEdit(t, al, f)
	e.AAPos = ed.k0 + 1
	if al.ins() && f > 1 {
		e.AAPos = aaIndex(t, f-1)
	}
	if !c.translateEdit(t, al, &ed) {
		e.Warn |= WarnNoSequence
		return CodingSequence
	}
	refAA, altAA := c.aaRef, c.aaAlt
	var terms Term
	switch {
	case ed.frameshift:
		terms = ed.frameshiftTerms(refAA, altAA)
	case ed.diff != 0:
		terms = ed.inframeTerms(refAA, altAA)
	default:
		terms = ed.substitutionTerms(refAA, altAA)
	}
	terms = ed.startCodonTerms(terms, altAA)
	terms = ed.stopCodonTerms(terms, altAA)
	e.HGVSp = c.hgvsP(t, terms, ed.k0, refAA, altAA, ed.extended)
	return terms
}

// editStart is the CDS position of the first changed base; for an
// insertion, of the base after the insertion point in transcript order:
// the base at vs on the forward strand, the one at vs-1 on the reverse one.
func editStart(t *model.Transcript, al *allele) int32 {
	cf := cdsFrom(t)
	if al.ins() {
		f := t.Locate(al.vs).CDNA - cf + 1
		if t.Strand == model.Reverse {
			f++
		}
		return f
	}
	g := al.vs
	if t.Strand == model.Reverse {
		g = al.ve
	}
	return t.Locate(g).CDNA - cf + 1
}

// cdsEdit is an edit inside one exon's CDS in CDS coordinates (1-based,
// transcript order), with the window of whole codons it rewrites.
type cdsEdit struct {
	f, last int32 // first and last changed base (an insertion: the base after it)
	refLen  int32
	diff    int32 // length change, alt minus ref
	cdsLen  int32
	k0      int32 // 0-based codon of f
	ws, we  int32 // the codon window
	// nAffected is the number of codons the alt window spans before any
	// extension
	nAffected  int32
	frameshift bool
	// startHit, stopHit: the start codon (of a CDS starting with ATG) or
	// the stop codon (of one ending with a stop) is touched; lastCodonHit:
	// the last codon is, whatever it holds
	startHit, stopHit, lastCodonHit bool
	stopOK                          bool
	// extended: the alt window runs on past the edit to the next stop
	extended bool
}

func newCDSEdit(t *model.Transcript, al *allele, f int32) cdsEdit {
	phase, cdsLen := int32(t.Phase), t.CDSLen()
	ed := cdsEdit{f: f, refLen: int32(len(al.ref)), cdsLen: cdsLen, stopOK: t.Flags&model.FlagStopOK != 0}
	ed.diff = int32(len(al.alt)) - ed.refLen
	ed.frameshift = ed.diff%3 != 0
	ed.k0 = (f - phase - 1) / 3
	ed.last = f + ed.refLen - 1
	if al.ins() {
		ed.last = min(f, cdsLen)
	}
	k1 := (ed.last - phase - 1) / 3
	ed.ws = phase + 3*ed.k0 + 1
	ed.we = min(phase+3*k1+3, cdsLen)
	ed.startHit = t.Flags&model.FlagStartOK != 0 && f <= 3 && (ed.refLen > 0 || f > 1)
	if ed.refLen > 0 {
		ed.lastCodonHit = ed.last >= cdsLen-2
	} else {
		ed.lastCodonHit = f-1 >= cdsLen-2 && f <= cdsLen
	}
	ed.stopHit = ed.lastCodonHit && ed.stopOK
	return ed
}

// translateEdit fills c.aaRef and c.aaAlt with the protein of the codon
// window before and after the edit; the alt one runs on to the next stop
// when the frame shifts or the stop codon is touched and none is left in
// the window. It reports false when the stored sequence lacks the window.
func (c *Caller) translateEdit(t *model.Transcript, al *allele, ed *cdsEdit) bool {
	cf := cdsFrom(t)
	var ok bool
	c.b1, ok = c.cdnaSeq(c.b1[:0], t, cf+ed.ws-1, cf+ed.we-1)
	if !ok {
		return false
	}
	refWin := c.b1
	c.b3 = txOriented(c.b3, t, al.alt)
	// alt window = ref[ws..f-1] + alt + ref[f+refLen..we]
	c.b2 = append(c.b2[:0], refWin[:ed.f-ed.ws]...)
	c.b2 = append(c.b2, c.b3...)
	if tail := ed.f + ed.refLen - ed.ws; tail < int32(len(refWin)) {
		c.b2 = append(c.b2, refWin[tail:]...)
	}
	c.aaRef = translate(c.aaRef[:0], refWin)
	ed.nAffected = int32(len(c.b2)+2) / 3
	if ed.frameshift || (ed.stopHit && !containsStop(c.b2)) {
		c.b2, _ = c.cdnaSeq(c.b2, t, cf+ed.we, t.CDNALen())
		ed.extended = true
	}
	c.aaAlt = translate(c.aaAlt[:0], c.b2)
	if i := indexByte(c.aaAlt, '*'); i >= 0 {
		c.aaAlt = c.aaAlt[:i+1]
	}
	return true
}

// frameshiftTerms: a frameshift, with stop_gained when the new frame stops
// right at the variant, or (CDS without a stop codon) anywhere before the
// annotated CDS end.
func (ed *cdsEdit) frameshiftTerms(refAA, altAA []byte) Term {
	terms := Frameshift
	if i := indexByte(altAA, '*'); i >= 0 && indexByte(refAA, '*') < 0 {
		if int32(i) < ed.nAffected || (!ed.stopOK && ed.ws-1+3*int32(i+1) <= ed.cdsLen+ed.diff) {
			terms |= StopGained
		}
	}
	return terms
}

// inframeTerms: an in-frame insertion or deletion, and what it does to
// stop codons.
func (ed *cdsEdit) inframeTerms(refAA, altAA []byte) Term {
	terms := InframeDeletion
	if ed.diff > 0 {
		terms = InframeInsertion
	}
	rs, as := indexByte(refAA, '*'), indexByte(altAA, '*')
	if as >= 0 && rs < 0 {
		terms |= StopGained
	}
	if rs >= 0 && (as < 0 || ed.extended) {
		terms |= StopLost
	}
	return terms
}

// substitutionTerms compares the codons one by one.
func (ed *cdsEdit) substitutionTerms(refAA, altAA []byte) Term {
	var terms Term
	changed := false
	for i := 0; i < len(refAA) && i < len(altAA); i++ {
		if refAA[i] == altAA[i] {
			continue
		}
		changed = true
		switch {
		case refAA[i] == '*':
			terms |= StopLost
		case altAA[i] == '*':
			terms |= StopGained
		default:
			terms |= Missense
		}
	}
	if !changed {
		terms |= Synonymous
		if ed.lastCodonHit && len(refAA) > 0 && refAA[len(refAA)-1] == '*' {
			terms = StopRetained
		}
	}
	if ed.lastCodonHit && !ed.stopOK && len(altAA) > 0 && altAA[len(altAA)-1] == '*' {
		// a stop created in the last codon of a 3'-incomplete CDS
		// completes it (bcftools calls this stop_retained)
		terms |= StopRetained
	}
	return terms
}

// startCodonTerms adds start_lost when the edit touches the ATG and the
// new protein does not begin with Met, or an in-frame indel rewrites the
// first codon.
func (ed *cdsEdit) startCodonTerms(terms Term, altAA []byte) Term {
	if !ed.startHit {
		return terms
	}
	if len(altAA) == 0 || altAA[0] != 'M' || (ed.diff != 0 && !ed.frameshift && ed.k0 == 0 && ed.refLen > 0) {
		terms |= StartLost
		if ed.stopOK {
			// the amino-acid change is the start loss; keep missense
			// only for CDS without a stop, whose ends are uncertain
			terms &^= Missense
		}
	}
	return terms
}

// stopCodonTerms settles an edit touching the stop codon: retained when
// the new sequence still stops there, lost otherwise.
func (ed *cdsEdit) stopCodonTerms(terms Term, altAA []byte) Term {
	if ed.stopHit && terms&(StopLost|StopRetained) == 0 && !ed.frameshift &&
		len(altAA) > 0 && altAA[len(altAA)-1] == '*' && ed.diff == 0 {
		terms |= StopRetained
	}
	if ed.frameshift && ed.stopHit {
		// retained when the new frame stops at the same codon
		if as := indexByte(altAA, '*'); as >= 0 && ed.ws-1+3*int32(as+1) <= ed.cdsLen+ed.diff {
			terms |= StopRetained
		} else {
			terms |= StopLost
		}
	}
	if terms&StopLost != 0 && terms&StopRetained != 0 {
		terms &^= StopLost
	}
	return terms
}

func containsStop(s []byte) bool {
	for i := 0; i+2 < len(s); i += 3 {
		if model.Translate(s[i], s[i+1], s[i+2]) == '*' {
			return true
		}
	}
	return false
}

func indexByte(s []byte, b byte) int {
	for i, x := range s {
		if x == b {
			return i
		}
	}
	return -1
}

// aaAt returns the amino acid at protein position k (1-based), 0 if unknown.
func (c *Caller) aaAt(t *model.Transcript, k int32) byte {
	cp := int32(t.Phase) + 3*(k-1) + 1
	if k < 1 || cp+2 > t.CDSLen() {
		return 0
	}
	cf := cdsFrom(t)
	var ok bool
	c.b4, ok = c.cdnaSeq(c.b4[:0], t, cf+cp-1, cf+cp+1)
	if !ok || len(c.b4) != 3 {
		return 0
	}
	return model.Translate(c.b4[0], c.b4[1], c.b4[2])
}

// codingBoundary handles an edit that touches the CDS and also an intron or
// UTR (or several exons): the protein change cannot be predicted locally, so
// it is reported as coding_sequence_variant plus what the length change and
// the start/stop codons say.
func (c *Caller) codingBoundary(t *model.Transcript, al *allele, e *Effect) Term {
	terms := CodingSequence
	d := boundaryFrameChange(t, al)
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
	e.CDSPos = firstCDSPos(t, al)
	if e.CDSPos > 0 {
		e.AAPos = aaIndex(t, e.CDSPos)
	}
	return terms
}

// boundaryFrameChange is the length change that frames a boundary-crossing
// edit: the whole length, except for a deletion leaving an exon into the
// intron, which shifts the frame by the coding bases it removes.
func boundaryFrameChange(t *model.Transcript, al *allele) int {
	d := len(al.alt) - len(al.ref)
	if len(al.alt) != 0 {
		return d
	}
	for _, ex := range t.Exons {
		if al.vs < ex.Start && al.ve >= ex.Start {
			return d // enters an exon from its low-coordinate side
		}
	}
	var n int32
	for _, ex := range t.Exons {
		a, b := max(max(ex.Start, t.CDSStart), al.vs), min(min(ex.End, t.CDSEnd), al.ve)
		if a <= b {
			n += b - a + 1
		}
	}
	return -int(n)
}

// firstCDSPos is the lowest CDS position among the coding bases the allele
// covers (0 when none is exonic).
func firstCDSPos(t *model.Transcript, al *allele) int32 {
	var pos int32
	for g := max(al.vs, t.CDSStart); g <= min(al.ve, t.CDSEnd); g++ {
		if l := t.Locate(g); l.Exonic {
			cp := l.CDNA - cdsFrom(t) + 1
			if pos == 0 || cp < pos {
				pos = cp
			}
		}
	}
	return pos
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
