package csq

import (
	"github.com/gasproject/gas/adapters/engine/model"
)

func (c *Caller) putAA(a byte)   { c.text = append(c.text, model.AA3(a)...) }
func (c *Caller) putInt(n int32) { c.text = appendInt(c.text, n) }

// hgvsP writes the protein change (HGVS p., three-letter codes); k0 is the
// 0-based codon where the compared windows refAA and altAA start, extended
// says altAA runs on past the edit to the next stop. An empty span means
// the change cannot be described from the stored sequence.
func (c *Caller) hgvsP(t *model.Transcript, terms Term, k0 int32, refAA, altAA []byte, extended bool) span {
	start := int32(len(c.text))
	if terms&StartLost != 0 {
		c.text = append(c.text, "p.Met1?"...)
		return span{start, int32(len(c.text))}
	}
	i := 0
	for i < len(refAA) && i < len(altAA) && refAA[i] == altAA[i] {
		i++
	}
	pos := k0 + 1 + int32(i)
	var ok bool
	if terms&Frameshift != 0 {
		ok = c.pFrameshift(t, refAA, altAA, i, pos)
	} else {
		ok = c.pInFrame(t, terms, k0, refAA, altAA, i, pos, extended)
	}
	if !ok {
		c.text = c.text[:start]
		return span{}
	}
	return span{start, int32(len(c.text))}
}

// pFrameshift writes p.Lys4SerfsTer12 (fsTer? when the new frame runs off
// the transcript), or p.Lys4Ter when the first changed residue is a stop.
// i and pos are the first residue where the windows differ.
func (c *Caller) pFrameshift(t *model.Transcript, refAA, altAA []byte, i int, pos int32) bool {
	if i == len(refAA) {
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
	if i >= len(altAA) {
		return false // no difference within the new frame's protein
	}
	var ra byte
	if i < len(refAA) {
		ra = refAA[i]
	} else {
		ra = c.aaAt(t, pos)
	}
	if ra == 0 {
		return false
	}
	c.text = append(c.text, "p."...)
	c.putAA(ra)
	c.putInt(pos)
	if altAA[i] == '*' {
		c.text = append(c.text, "Ter"...)
		return true
	}
	c.putAA(altAA[i])
	c.text = append(c.text, "fs"...)
	c.putTerDistance(altAA[i:])
	return true
}

// putTerDistance writes "Ter" and the position of the first stop in aa
// counted from its start (1-based), or "Ter?" when aa has none.
func (c *Caller) putTerDistance(aa []byte) {
	c.text = append(c.text, "Ter"...)
	if j := indexByte(aa, '*'); j >= 0 {
		c.putInt(int32(j) + 1)
	} else {
		c.text = append(c.text, '?')
	}
}

// pInFrame writes a substitution, synonymous change, extension, insertion,
// duplication, deletion or delins; i and pos are the first residue where
// the windows differ.
func (c *Caller) pInFrame(t *model.Transcript, terms Term, k0 int32, refAA, altAA []byte, i int, pos int32, extended bool) bool {
	// trim the common suffix too (not past the prefix)
	ra, aa := refAA[i:], altAA[i:]
	if !extended {
		for len(ra) > 0 && len(aa) > 0 && ra[len(ra)-1] == aa[len(aa)-1] {
			ra, aa = ra[:len(ra)-1], aa[:len(aa)-1]
		}
	}
	c.text = append(c.text, "p."...)
	switch {
	case len(ra) == 0 && len(aa) == 0:
		return c.pSynonymous(terms, k0, refAA)
	case len(ra) == 1 && ra[0] == '*' && len(aa) >= 1 && extended:
		// stop lost: p.Ter110GlnextTer17
		c.text = append(c.text, "Ter"...)
		c.putInt(pos)
		c.putAA(aa[0])
		c.text = append(c.text, "ext"...)
		c.putTerDistance(aa)
	case len(ra) == 1 && len(aa) == 1:
		c.putAA(ra[0])
		c.putInt(pos)
		c.putAA(aa[0])
	case len(ra) == 0:
		return c.pInsertion(t, pos, aa)
	case len(aa) == 0:
		c.pDeletion(t, pos, ra)
	case aa[0] == '*':
		c.putAA(ra[0])
		c.putInt(pos)
		c.text = append(c.text, "Ter"...)
	default:
		c.putAARange(ra, pos)
		c.text = append(c.text, "delins"...)
		for _, a := range aa {
			c.putAA(a)
		}
	}
	return true
}

// pSynonymous writes p.Arg97= for the codon the variant sits in (the stop
// codon for stop_retained).
func (c *Caller) pSynonymous(terms Term, k0 int32, refAA []byte) bool {
	if len(refAA) == 0 {
		return false
	}
	a, p := refAA[0], k0+1
	if terms&StopRetained != 0 {
		a, p = refAA[len(refAA)-1], k0+int32(len(refAA))
	}
	if a == 0 {
		return false
	}
	c.putAA(a)
	c.putInt(p)
	c.text = append(c.text, '=')
	return true
}

// pInsertion writes residues aa inserted before protein position pos,
// shifted C-terminal: a duplication of the residues before it (p.Ala2dup),
// an insertion (p.Leu5_Pro6insGly), or p.Pro6Ter when a stop is inserted.
func (c *Caller) pInsertion(t *model.Transcript, pos int32, aa []byte) bool {
	if aa[0] == '*' {
		c.putAA(c.aaAt(t, pos))
		c.putInt(pos)
		c.text = append(c.text, "Ter"...)
		return true
	}
	ins := append([]byte(nil), aa...)
	pos = c.shiftResidues(t, ins, pos, pos)
	L := int32(len(ins))
	if c.repeatsBefore(t, ins, pos) {
		c.putAARange(ins, pos-L)
		c.text = append(c.text, "dup"...)
		return true
	}
	prev, next := c.aaAt(t, pos-1), c.aaAt(t, pos)
	if prev == 0 || next == 0 {
		return false
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
	return true
}

// repeatsBefore reports whether the residues just before protein
// position pos are ins (the insertion duplicates them).
func (c *Caller) repeatsBefore(t *model.Transcript, ins []byte, pos int32) bool {
	L := int32(len(ins))
	if pos-L < 1 {
		return false
	}
	for j := int32(0); j < L; j++ {
		if c.aaAt(t, pos-L+j) != ins[j] {
			return false
		}
	}
	return true
}

// pDeletion writes residues del deleted from protein position pos,
// shifted C-terminal: p.Ala2del, p.Ala2_Pro4del.
func (c *Caller) pDeletion(t *model.Transcript, pos int32, del []byte) {
	del = append([]byte(nil), del...)
	pos = c.shiftResidues(t, del, pos, pos+int32(len(del)))
	c.putAARange(del, pos)
	c.text = append(c.text, "del"...)
}

// shiftResidues moves an inserted or deleted run of residues res toward
// the C terminus while the residue after it (at protein position next)
// repeats its first one, rotating res in place; pos is the run's position,
// returned shifted.
func (c *Caller) shiftResidues(t *model.Transcript, res []byte, pos, next int32) int32 {
	for {
		nx := c.aaAt(t, next)
		if nx == 0 || nx != res[0] || nx == '*' {
			return pos
		}
		first := res[0]
		copy(res, res[1:])
		res[len(res)-1] = first
		pos++
		next++
	}
}

// putAARange writes the first residue of run at pos and, when the run is
// longer, "_" and its last one: Ala2 or Ala2_Pro4.
func (c *Caller) putAARange(run []byte, pos int32) {
	c.putAA(run[0])
	c.putInt(pos)
	if len(run) > 1 {
		c.text = append(c.text, '_')
		c.putAA(run[len(run)-1])
		c.putInt(pos + int32(len(run)) - 1)
	}
}
