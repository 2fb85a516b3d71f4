package known

// Reference supplies reference bases for left-aligning indels. The
// annotator's FASTA-backed reference satisfies it through ReferenceFunc.
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
// through repeats as far as ref shows (at most maxShift bases; ref may be
// nil). This is vt/bcftools norm's algorithm without re-padding, which the
// comparison does not need.
func Normalize(ref Reference, chrom string, pos int64, refAllele, altAllele string, maxShift int) (int64, string, string) {
	r, a := upper(refAllele), upper(altAllele)
	for len(r) > 0 && len(a) > 0 && r[len(r)-1] == a[len(a)-1] {
		r, a = r[:len(r)-1], a[:len(a)-1]
	}
	for len(r) > 0 && len(a) > 0 && r[0] == a[0] {
		r, a = r[1:], a[1:]
		pos++
	}
	if ref == nil || (len(r) == 0) == (len(a) == 0) || maxShift <= 0 {
		return pos, r, a
	}
	indel := []byte(r + a) // the one non-empty allele
	shifted := 0
	for shifted < maxShift && pos > 1 {
		n := int64(min(64, maxShift-shifted))
		start := max(1, pos-n)
		seq := ref.Seq(chrom, start, pos-1)
		if len(seq) != int(pos-start) {
			break
		}
		moved := false
		for i := len(seq) - 1; i >= 0 && shifted < maxShift; i-- {
			b := seq[i] | 0x20 ^ 0x20 // upper-case ASCII letters
			if b != indel[len(indel)-1] {
				break
			}
			copy(indel[1:], indel[:len(indel)-1])
			indel[0] = b
			pos--
			shifted++
			moved = true
		}
		if !moved || pos-start > 0 {
			break // stopped inside this chunk
		}
	}
	if len(r) > 0 {
		return pos, string(indel), ""
	}
	return pos, "", string(indel)
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
