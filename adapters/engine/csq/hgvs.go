package csq

import (
	"github.com/gasproject/gas/adapters/engine/model"
)

// region returns the bounds of the exon or intron wholly containing
// [lo, hi] (genomic), or ok=false when the span crosses a boundary or leaves
// the transcript.
func region(t *model.Transcript, lo, hi int32) (int32, int32, bool) {
	ex := t.Exons
	for i := range ex {
		if lo >= ex[i].Start && hi <= ex[i].End {
			return ex[i].Start, ex[i].End, true
		}
		if i+1 < len(ex) && lo > ex[i].End && hi < ex[i+1].Start {
			return ex[i].End + 1, ex[i+1].Start - 1, true
		}
	}
	return 0, 0, false
}

// posString appends the HGVS position of genomic g (c. or n. numbering).
func (c *Caller) posString(t *model.Transcript, g int32) {
	var cdna, off int32
	switch {
	case g < t.Start:
		if t.Strand == model.Forward {
			cdna = 1 - (t.Start - g)
		} else {
			cdna = t.CDNALen() + (t.Start - g)
		}
	case g > t.End:
		if t.Strand == model.Forward {
			cdna = t.CDNALen() + (g - t.End)
		} else {
			cdna = 1 - (g - t.End)
		}
	default:
		l := t.Locate(g)
		cdna, off = l.CDNA, l.Offset
	}
	if t.Coding() {
		from, to := t.CDSRange()
		switch {
		case cdna < from:
			c.text = append(c.text, '-')
			c.putInt(from - cdna)
		case cdna > to:
			c.text = append(c.text, '*')
			c.putInt(cdna - to)
		default:
			c.putInt(cdna - from + 1)
		}
	} else {
		if cdna < 1 {
			c.text = append(c.text, '-')
			c.putInt(1 - cdna)
		} else {
			c.putInt(cdna)
		}
	}
	if off > 0 {
		c.text = append(c.text, '+')
		c.putInt(off)
	} else if off < 0 {
		c.text = append(c.text, '-')
		c.putInt(-off)
	}
}

// rangeString appends "p1_p2" for genomic lo..hi in transcript order.
func (c *Caller) rangeString(t *model.Transcript, lo, hi int32) {
	a, b := lo, hi
	if t.Strand == model.Reverse {
		a, b = hi, lo
	}
	c.posString(t, a)
	if lo != hi {
		c.text = append(c.text, '_')
		c.posString(t, b)
	}
}

func (c *Caller) base(chrom, g int32) byte {
	if s := c.ref.SeqAt(&c.seq, chrom, g, g); s != nil {
		return s[0]
	}
	return 0
}

// hgvsC writes the c. (or n.) description of the allele on t.
func (c *Caller) hgvsC(t *model.Transcript, al *allele, e *Effect) span {
	start := int32(len(c.text))
	if t.Coding() {
		c.text = append(c.text, "c."...)
	} else {
		c.text = append(c.text, "n."...)
	}
	ref, alt := al.ref, al.alt
	switch {
	case len(ref) == 1 && len(alt) == 1:
		c.posString(t, al.vs)
		if t.Strand == model.Forward {
			c.text = append(c.text, ref[0], '>', alt[0])
		} else {
			c.text = append(c.text, model.Complement(ref[0]), '>', model.Complement(alt[0]))
		}
	case len(alt) == 0:
		c.cDeletion(t, al, e)
	case len(ref) == 0:
		c.cInsertion(t, al, e)
	default: // MNV or delins
		c.rangeString(t, al.vs, al.ve)
		c.text = append(c.text, "delins"...)
		c.appendTx(t, alt)
	}
	return span{start, int32(len(c.text))}
}

// cDeletion writes c.123del or c.123_125del, shifted 3' in transcript
// order within the exon or intron that holds it.
func (c *Caller) cDeletion(t *model.Transcript, al *allele, e *Effect) {
	s, en := al.vs, al.ve
	if lo, hi, ok := region(t, s, en); ok {
		ns, ne := c.shiftDeletion(t, s, en, lo, hi)
		if ns != s {
			e.Warn |= WarnShifted
		}
		s, en = ns, ne
	}
	c.rangeString(t, s, en)
	c.text = append(c.text, "del"...)
}

// shiftDeletion slides the deleted bases s..en 3' (in transcript order)
// while the base they uncover repeats the one they leave, within lo..hi.
func (c *Caller) shiftDeletion(t *model.Transcript, s, en, lo, hi int32) (int32, int32) {
	if t.Strand == model.Forward {
		for en+1 <= hi {
			b := c.base(t.Chrom, en+1)
			if b == 0 || b != c.base(t.Chrom, s) {
				break
			}
			s++
			en++
		}
		return s, en
	}
	for s-1 >= lo {
		b := c.base(t.Chrom, s-1)
		if b == 0 || b != c.base(t.Chrom, en) {
			break
		}
		s--
		en--
	}
	return s, en
}

// cInsertion writes an insertion between vs-1 and vs, shifted 3' within
// its exon or intron: a duplication of the bases on its 5' side
// (c.123dup, c.123_125dup) or c.123_124insACG.
func (c *Caller) cInsertion(t *model.Transcript, al *allele, e *Effect) {
	q := al.vs - 1
	ins := append(c.b4[:0], al.alt...)
	if lo, hi, ok := region(t, q, al.vs); ok {
		// a boundary-crossing insertion is not shifted
		nq := c.shiftInsertion(t, ins, q, lo, hi)
		if nq != q {
			e.Warn |= WarnShifted
		}
		q = nq
	}
	L := int32(len(ins))
	var dupLo, dupHi int32
	if t.Strand == model.Forward {
		dupLo, dupHi = q-L+1, q
	} else {
		dupLo, dupHi = q+1, q+L
	}
	if s := c.ref.SeqAt(&c.seq, t.Chrom, dupLo, dupHi); s != nil && string(s) == string(ins) && dupLo >= t.Start && dupHi <= t.End {
		c.rangeString(t, dupLo, dupHi)
		c.text = append(c.text, "dup"...)
		return
	}
	c.rangeString(t, q, q+1)
	c.text = append(c.text, "ins"...)
	c.appendTx(t, ins)
}

// shiftInsertion slides the insertion of ins after base q 3' (in
// transcript order) within lo..hi while the next base repeats the first
// inserted one, rotating ins in place; it returns the new q.
func (c *Caller) shiftInsertion(t *model.Transcript, ins []byte, q, lo, hi int32) int32 {
	if t.Strand == model.Forward {
		for q+1 <= hi && q+1 >= lo {
			b := c.base(t.Chrom, q+1)
			if b == 0 || b != ins[0] {
				break
			}
			f := ins[0]
			copy(ins, ins[1:])
			ins[len(ins)-1] = f
			q++
		}
		return q
	}
	for q >= lo && q <= hi {
		b := c.base(t.Chrom, q)
		if b == 0 || b != ins[len(ins)-1] {
			break
		}
		l := ins[len(ins)-1]
		copy(ins[1:], ins[:len(ins)-1])
		ins[0] = l
		q--
	}
	return q
}

// appendTx appends genomic bases b in transcript orientation.
func (c *Caller) appendTx(t *model.Transcript, b []byte) {
	if t.Strand == model.Forward {
		c.text = append(c.text, b...)
		return
	}
	for i := len(b) - 1; i >= 0; i-- {
		c.text = append(c.text, model.Complement(b[i]))
	}
}
