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

// coding predicts the protein change of an edit lying inside one exon's CDS.
func (c *Caller) coding(t *model.Transcript, al *allele, e *Effect, boundaryIns bool) Term {
	cf := cdsFrom(t)
	cdsLen := t.CDSLen()
	phase := int32(t.Phase)
	// f: CDS position of the first deleted base (or of the base after the insertion point)
	var f int32
	refLen := int32(len(al.ref))
	if al.ins() {
		// f is the CDS position of the base after the insertion point in
		// transcript order: the base at vs on the forward strand, the one
		// after it (vs-1 in the genome) on the reverse strand.
		f = t.Locate(al.vs).CDNA - cf + 1
		if t.Strand == model.Reverse {
			f++
		}
	} else {
		g := al.vs
		if t.Strand == model.Reverse {
			g = al.ve
		}
		f = t.Locate(g).CDNA - cf + 1
	}
	e.CDSPos = f
	if al.ins() && f > 1 {
		e.CDSPos = f - 1
	}
	if f <= phase || f < 1 || f > cdsLen+1 {
		return CodingSequence
	}
	k0 := (f - phase - 1) / 3 // 0-based codon of f
	last := f + refLen - 1
	if al.ins() {
		last = f
		if last > cdsLen {
			last = cdsLen
		}
	}
	k1 := (last - phase - 1) / 3
	ws := phase + 3*k0 + 1
	we := phase + 3*k1 + 3
	if we > cdsLen {
		we = cdsLen
	}
	e.AAPos = k0 + 1
	if al.ins() && f > 1 {
		e.AAPos = aaIndex(t, f-1)
	}
	var ok bool
	c.b1, ok = c.cdnaSeq(c.b1[:0], t, cf+ws-1, cf+we-1)
	if !ok {
		e.Warn |= WarnNoSequence
		return CodingSequence
	}
	refWin := c.b1
	c.b3 = txOriented(c.b3, t, al.alt)
	altT := c.b3
	// alt window = ref[ws..f-1] + alt + ref[f+refLen..we]
	c.b2 = append(c.b2[:0], refWin[:f-ws]...)
	c.b2 = append(c.b2, altT...)
	if tail := f + refLen - ws; tail < int32(len(refWin)) {
		c.b2 = append(c.b2, refWin[tail:]...)
	}
	diff := int32(len(al.alt)) - refLen
	startOK := t.Flags&model.FlagStartOK != 0
	stopOK := t.Flags&model.FlagStopOK != 0
	startHit := startOK && f <= 3 && (refLen > 0 || f > 1)
	var stopHit bool
	if refLen > 0 {
		stopHit = last >= cdsLen-2
	} else {
		stopHit = f-1 >= cdsLen-2 && f <= cdsLen
	}
	lastCodonHit := stopHit
	stopHit = stopHit && stopOK

	c.aaRef = translate(c.aaRef[:0], refWin)
	nAffected := int32(len(c.b2)+2) / 3
	frameshift := diff%3 != 0
	var extAlt bool
	if frameshift || (stopHit && !containsStop(c.b2)) {
		// extend the alt with the downstream transcript until a stop
		c.b2, ok = c.cdnaSeq(c.b2, t, cf+we, t.CDNALen())
		extAlt = true
	}
	c.aaAlt = translate(c.aaAlt[:0], c.b2)
	if i := indexByte(c.aaAlt, '*'); i >= 0 {
		c.aaAlt = c.aaAlt[:i+1]
	}
	var terms Term
	refAA, altAA := c.aaRef, c.aaAlt
	switch {
	case frameshift:
		terms |= Frameshift
		if i := indexByte(altAA, '*'); i >= 0 && indexByte(refAA, '*') < 0 {
			// a new stop right at the variant, or (CDS without a stop codon)
			// anywhere before the annotated CDS end
			if int32(i) < nAffected || (!stopOK && ws-1+3*int32(i+1) <= cdsLen+diff) {
				terms |= StopGained
			}
		}
	case diff != 0:
		if diff > 0 {
			terms |= InframeInsertion
		} else {
			terms |= InframeDeletion
		}
		rs, as := indexByte(refAA, '*'), indexByte(altAA, '*')
		if as >= 0 && rs < 0 {
			terms |= StopGained
		}
		if rs >= 0 && (as < 0 || extAlt) {
			terms |= StopLost
		}
	default:
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
		if len(altAA) < len(refAA) && !extAlt {
			// alt truncated by an early stop already counted above
		}
		if !changed {
			terms |= Synonymous
			if lastCodonHit && len(refAA) > 0 && refAA[len(refAA)-1] == '*' {
				terms = StopRetained
			}
		}
		if lastCodonHit && !stopOK && len(altAA) > 0 && altAA[len(altAA)-1] == '*' {
			// a stop created in the last codon of a 3'-incomplete CDS
			// completes it (bcftools calls this stop_retained)
			terms |= StopRetained
		}
	}
	if startHit {
		if len(altAA) == 0 || altAA[0] != 'M' || diff != 0 && !frameshift && k0 == 0 && refLen > 0 {
			terms |= StartLost
			if stopOK {
				// the amino-acid change is the start loss; keep missense
				// only for CDS without a stop, whose ends are uncertain
				terms &^= Missense
			}
		}
	}
	if stopHit && terms&StopLost == 0 && terms&StopRetained == 0 && !frameshift {
		if len(altAA) > 0 && altAA[len(altAA)-1] == '*' && diff == 0 {
			terms |= StopRetained
		}
	}
	if frameshift && stopHit {
		// the stop codon is touched: retained when the new frame stops at
		// the same codon, lost otherwise
		if as := indexByte(altAA, '*'); as >= 0 && ws-1+3*int32(as+1) <= cdsLen+diff {
			terms |= StopRetained
		} else {
			terms |= StopLost
		}
	}
	if terms&StopLost != 0 && terms&StopRetained != 0 {
		terms &^= StopLost
	}
	// HGVS p.
	e.HGVSp = c.hgvsP(t, terms, k0, refAA, altAA, extAlt, startHit, ok)
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

func (c *Caller) putAA(a byte)   { c.text = append(c.text, model.AA3(a)...) }
func (c *Caller) putInt(n int32) { c.text = appendInt(c.text, n) }

// hgvsP writes the protein change; k0 is the 0-based codon index where the
// compared windows start.
func (c *Caller) hgvsP(t *model.Transcript, terms Term, k0 int32, refAA, altAA []byte, extAlt, startHit, seqOK bool) span {
	start := int32(len(c.text))
	if terms&StartLost != 0 {
		c.text = append(c.text, "p.Met1?"...)
		return span{start, int32(len(c.text))}
	}
	// common prefix
	i := 0
	for i < len(refAA) && i < len(altAA) && refAA[i] == altAA[i] {
		i++
	}
	pos := k0 + 1 + int32(i)
	if terms&Frameshift != 0 && i == len(refAA) {
		// the window matched: keep comparing with the reference protein
		for i < len(altAA) {
			ra := c.aaAt(t, pos)
			if ra == 0 || ra != altAA[i] {
				break
			}
			i++
			pos++
		}
	}
	if terms&Frameshift != 0 {
		if i >= len(altAA) {
			// the change begins past the compared window: walk the protein
			k := pos
			for j := i; ; j++ {
				ra := c.aaAt(t, k)
				if j >= len(altAA) || ra == 0 {
					return span{}
				}
				if ra != altAA[j] {
					i, pos = j, k
					break
				}
				k++
			}
		}
		ra := byte(0)
		if i < len(refAA) {
			ra = refAA[i]
		} else {
			ra = c.aaAt(t, pos)
		}
		if ra == 0 {
			return span{}
		}
		c.text = append(c.text, "p."...)
		c.putAA(ra)
		c.putInt(pos)
		if altAA[i] == '*' {
			c.text = append(c.text, "Ter"...)
			return span{start, int32(len(c.text))}
		}
		c.putAA(altAA[i])
		c.text = append(c.text, "fsTer"...)
		if j := indexByte(altAA[i:], '*'); j >= 0 {
			c.putInt(int32(j) + 1)
		} else {
			c.text = append(c.text, '?')
		}
		return span{start, int32(len(c.text))}
	}
	// substitution / in-frame: trim common suffix too (not past the prefix)
	ra, aa := refAA[i:], altAA[i:]
	if !extAlt {
		for len(ra) > 0 && len(aa) > 0 && ra[len(ra)-1] == aa[len(aa)-1] {
			ra, aa = ra[:len(ra)-1], aa[:len(aa)-1]
		}
	}
	c.text = append(c.text, "p."...)
	switch {
	case len(ra) == 0 && len(aa) == 0:
		// synonymous: report the codon the variant sits in
		p := k0 + 1
		a := byte(0)
		if len(refAA) > 0 {
			a = refAA[0]
		}
		if terms&StopRetained != 0 && len(refAA) > 0 {
			a = refAA[len(refAA)-1]
			p = k0 + int32(len(refAA))
		}
		if a == 0 {
			c.text = c.text[:start]
			return span{}
		}
		c.putAA(a)
		c.putInt(p)
		c.text = append(c.text, '=')
	case len(ra) == 1 && ra[0] == '*' && len(aa) >= 1 && extAlt:
		// stop lost: extension
		c.text = append(c.text, "Ter"...)
		c.putInt(pos)
		c.putAA(aa[0])
		c.text = append(c.text, "extTer"...)
		if j := indexByte(aa, '*'); j >= 0 {
			c.putInt(int32(j) + 1)
		} else {
			c.text = append(c.text, '?')
		}
	case len(ra) == 1 && len(aa) == 1:
		c.putAA(ra[0])
		c.putInt(pos)
		c.putAA(aa[0])
	case len(ra) == 0:
		// insertion between pos-1 and pos: shift C-terminal, then dup?
		ins := append(c.b4[:0:0], aa...)
		if ins[0] == '*' {
			c.putAA(c.aaAt(t, pos))
			c.putInt(pos)
			c.text = append(c.text, "Ter"...)
			break
		}
		for {
			nx := c.aaAt(t, pos)
			if nx == 0 || nx != ins[0] || nx == '*' {
				break
			}
			copy(ins, append(ins[1:], ins[0]))
			pos++
		}
		L := int32(len(ins))
		dup := pos-L >= 1
		for j := int32(0); dup && j < L; j++ {
			if c.aaAt(t, pos-L+j) != ins[j] {
				dup = false
			}
		}
		if dup {
			c.putAA(ins[0])
			c.putInt(pos - L)
			if L > 1 {
				c.text = append(c.text, '_')
				c.putAA(ins[L-1])
				c.putInt(pos - 1)
			}
			c.text = append(c.text, "dup"...)
			break
		}
		prev, next := c.aaAt(t, pos-1), c.aaAt(t, pos)
		if prev == 0 || next == 0 {
			c.text = c.text[:start]
			return span{}
		}
		c.putAA(prev)
		c.putInt(pos - 1)
		c.text = append(c.text, '_')
		c.putAA(next)
		c.putInt(pos)
		c.text = append(c.text, "ins"...)
		for _, a := range ins {
			c.putAA(a)
		}
	case len(aa) == 0:
		del := append([]byte(nil), ra...)
		for {
			nx := c.aaAt(t, pos+int32(len(del)))
			if nx == 0 || nx != del[0] || nx == '*' {
				break
			}
			copy(del, append(del[1:], del[0]))
			pos++
		}
		c.putAA(del[0])
		c.putInt(pos)
		if len(del) > 1 {
			c.text = append(c.text, '_')
			c.putAA(del[len(del)-1])
			c.putInt(pos + int32(len(del)) - 1)
		}
		c.text = append(c.text, "del"...)
	default:
		if len(aa) > 0 && aa[0] == '*' && len(ra) >= 1 {
			c.putAA(ra[0])
			c.putInt(pos)
			c.text = append(c.text, "Ter"...)
			break
		}
		c.putAA(ra[0])
		c.putInt(pos)
		if len(ra) > 1 {
			c.text = append(c.text, '_')
			c.putAA(ra[len(ra)-1])
			c.putInt(pos + int32(len(ra)) - 1)
		}
		c.text = append(c.text, "delins"...)
		for _, a := range aa {
			c.putAA(a)
		}
	}
	return span{start, int32(len(c.text))}
}
