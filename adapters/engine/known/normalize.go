package known

// Reference supplies reference bases for left-aligning indels. The
// annotator's FASTA-backed reference satisfies it through ReferenceFunc.
// It may cover only parts of a chromosome (a database keeps sequence
// around exons only): Seq returns nil for any range it cannot give whole,
// and the matcher then falls back on the bases the records themselves
// carry.
type Reference interface {
	// Seq returns the bases of chrom from start to end (1-based,
	// inclusive), or nil when they are not available.
	Seq(chrom string, start, end int64) []byte
}

// ReferenceFunc adapts a function to Reference.
type ReferenceFunc func(chrom string, start, end int64) []byte

// Seq calls f.
func (f ReferenceFunc) Seq(chrom string, start, end int64) []byte { return f(chrom, start, end) }

// Normalize returns the canonical form of an allele pair so that equivalent
// VCF representations compare equal: upper-cased, the shared suffix then
// the shared prefix trimmed (alleles may become empty; pos moves to the
// first differing base), and a pure insertion or deletion shifted left
// through repeats (at most maxShift bases) as far as the bases to its left
// show: first the record's own trimmed padding, then ref (which may be nil
// or cover only part of the chromosome). This is vt/bcftools norm's
// algorithm without re-padding, which the comparison does not need.
//
// When the reference runs out before the repeat does, two representations
// of one indel can normalise differently; the Source then proves their
// equivalence by comparing the haplotypes they describe (see Match).
func Normalize(ref Reference, chrom string, pos int64, refAllele, altAllele string, maxShift int) (int64, string, string) {
	k, _ := normalize(ref, chrom, pos, upper(refAllele), upper(altAllele), maxShift)
	return k.pos, k.ref, k.alt
}

// chunk is how many reference bases a left shift asks for at a time.
const chunk = 64

// normalize is Normalize on upper-cased alleles. settled reports that the
// result is the unique canonical form of the variant: a substitution, or a
// pure indel whose shift stopped at a differing base or the chromosome's
// start. An indel whose shift stopped because no more reference was
// available or maxShift was reached, and a complex indel (both alleles
// left after trimming, of different lengths), are not settled: an
// equivalent representation may normalise to a different form.
func normalize(ref Reference, chrom string, pos int64, r, a string, maxShift int) (allele, bool) {
	record, start := r, pos // the record's REF: reference bases from start on
	for len(r) > 0 && len(a) > 0 && r[len(r)-1] == a[len(a)-1] {
		r, a = r[:len(r)-1], a[:len(a)-1]
	}
	for len(r) > 0 && len(a) > 0 && r[0] == a[0] {
		r, a = r[1:], a[1:]
		pos++
	}
	if len(r) == len(a) {
		return allele{pos, r, a}, true
	}
	if len(r) > 0 && len(a) > 0 {
		return allele{pos, r, a}, false
	}
	indel := []byte(r + a) // the one non-empty allele
	shifted, settled := 0, false
shift:
	for shifted < maxShift {
		if pos == 1 {
			settled = true
			break
		}
		var seq []byte
		if off := pos - start; off > 0 {
			seq = []byte(record[:off]) // the record's own padding left of pos
		} else {
			seq = tail(ref, chrom, pos-1, int64(min(chunk, maxShift-shifted)))
		}
		if len(seq) == 0 {
			break // no reference left of pos: not settled
		}
		for i := len(seq) - 1; i >= 0; i-- {
			if shifted == maxShift {
				break shift
			}
			b := seq[i] | 0x20 ^ 0x20 // upper-case ASCII letters
			if b != indel[len(indel)-1] {
				settled = true
				break shift
			}
			copy(indel[1:], indel[:len(indel)-1])
			indel[0] = b
			pos--
			shifted++
		}
	}
	if len(r) > 0 {
		return allele{pos, string(indel), ""}, settled
	}
	return allele{pos, "", string(indel)}, settled
}

// tail returns the longest run of reference bases ending at end, at most n
// long, that ref can give (nil when not even the base at end is
// available). A reference made of segments refuses a range that crosses a
// segment's edge, so a failed request is narrowed rather than given up:
// otherwise a shift would stop short whenever its 64-base request happened
// to reach past the sequence kept around an exon.
func tail(ref Reference, chrom string, end, n int64) []byte {
	if ref == nil || end < 1 {
		return nil
	}
	n = min(n, end)
	if seq := ref.Seq(chrom, end-n+1, end); int64(len(seq)) == n {
		return seq
	}
	if n == 1 {
		return nil
	}
	seq := ref.Seq(chrom, end, end)
	if len(seq) != 1 {
		return nil
	}
	lo, hi := int64(1), n // lo bases are available, hi are not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if s := ref.Seq(chrom, end-mid+1, end); int64(len(s)) == mid {
			lo, seq = mid, s
		} else {
			hi = mid
		}
	}
	return seq
}

// span returns the reference bases from start to end, assembled from as
// many pieces as ref needs (a reference made of segments refuses a range
// crossing a segment's edge), or nil when any base is missing.
func span(ref Reference, chrom string, start, end int64) []byte {
	if ref == nil || start < 1 || end < start {
		return nil
	}
	if seq := ref.Seq(chrom, start, end); int64(len(seq)) == end-start+1 {
		return seq
	}
	var out []byte
	for start <= end {
		// the longest available run starting at start
		lo, hi := int64(0), end-start+2 // lo bases are available, hi are not
		var got []byte
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if s := ref.Seq(chrom, start, start+mid-1); int64(len(s)) == mid {
				lo, got = mid, s
			} else {
				hi = mid
			}
		}
		if lo == 0 {
			return nil
		}
		out = append(out, got...)
		start += lo
	}
	return out
}

// equivalent reports whether two VCF alleles describe the same change:
// applied to the reference they give the same sequence. The reference over
// the pair's joint span comes from the records' own REF bases, and from ref
// for any gap between them; a missing base, or REF bases that disagree,
// mean no proof and false. The work is bounded by the joint span, which
// the window keeps within twice Window plus the REF lengths.
func equivalent(ref Reference, chrom string, a, b allele) bool {
	if len(a.alt)-len(a.ref) != len(b.alt)-len(b.ref) {
		return false
	}
	lo := min(a.pos, b.pos)
	hi := max(a.pos+int64(len(a.ref)), b.pos+int64(len(b.ref))) - 1
	n := hi - lo + 1
	if n < 1 {
		return false
	}
	bases := make([]byte, n) // 0: not known yet
	for _, x := range [2]allele{a, b} {
		for i := 0; i < len(x.ref); i++ {
			j := x.pos - lo + int64(i)
			if c := bases[j]; c != 0 && c != x.ref[i] {
				return false
			}
			bases[j] = x.ref[i]
		}
	}
	for i := int64(0); i < n; {
		if bases[i] != 0 {
			i++
			continue
		}
		j := i
		for j < n && bases[j] == 0 {
			j++
		}
		seq := span(ref, chrom, lo+i, lo+j-1)
		if seq == nil {
			return false
		}
		for k, c := range seq {
			bases[i+int64(k)] = c | 0x20 ^ 0x20
		}
		i = j
	}
	// compare bases[:a] + a.alt + bases[a end:] with the same for b
	ha, hb := haplotype{bases, a.pos - lo, a}, haplotype{bases, b.pos - lo, b}
	m := ha.len()
	for i := int64(0); i < m; i++ {
		if ha.at(i) != hb.at(i) {
			return false
		}
	}
	return true
}

// haplotype is the reference span with one allele applied, read base by
// base without building it.
type haplotype struct {
	bases []byte
	off   int64 // where the allele's REF starts in bases
	x     allele
}

func (h haplotype) len() int64 {
	return int64(len(h.bases)) - int64(len(h.x.ref)) + int64(len(h.x.alt))
}

func (h haplotype) at(i int64) byte {
	if i < h.off {
		return h.bases[i]
	}
	if j := i - h.off; j < int64(len(h.x.alt)) {
		return h.x.alt[j]
	}
	return h.bases[i-int64(len(h.x.alt))+int64(len(h.x.ref))]
}

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
