package model

// nt4 maps a base to 0..3 (A,C,G,T) or 4 for anything else.
var nt4 [256]uint8

// comp maps a base to its complement (IUPAC-aware for the common codes).
var comp [256]byte

// codonTable is the standard genetic code indexed by nt4 codes a*16+b*4+c.
const codonTable = "KNKNTTTTRSRSIIMIQHQHPPPPRRRRLLLLEDEDAAAAGGGGVVVV*Y*YSSSS*CWCLFLF"

func init() {
	for i := range nt4 {
		nt4[i] = 4
		comp[i] = 'N'
	}
	for i, c := range "ACGT" {
		nt4[c] = uint8(i)
		nt4[c|0x20] = uint8(i)
	}
	pairs := []string{"AT", "CG", "GC", "TA", "NN", "RY", "YR", "KM", "MK", "SS", "WW", "BV", "VB", "DH", "HD"}
	for _, p := range pairs {
		comp[p[0]] = p[1]
		comp[p[0]|0x20] = p[1] | 0x20
	}
}

// Complement returns the complementary base.
func Complement(b byte) byte { return comp[b] }

// ReverseComplement writes the reverse complement of s into dst (reusing its
// storage) and returns it.
func ReverseComplement(dst, s []byte) []byte {
	dst = dst[:0]
	for i := len(s) - 1; i >= 0; i-- {
		dst = append(dst, comp[s[i]])
	}
	return dst
}

// Translate returns the one-letter amino acid for a codon ('X' when a base
// is not A/C/G/T, '*' for stop).
func Translate(a, b, c byte) byte {
	x, y, z := nt4[a], nt4[b], nt4[c]
	if x|y|z >= 4 {
		return 'X'
	}
	return codonTable[int(x)<<4|int(y)<<2|int(z)]
}

// IsBase reports whether b is one of ACGTN in either case.
func IsBase(b byte) bool {
	switch b | 0x20 {
	case 'a', 'c', 'g', 't', 'n':
		return true
	}
	return false
}

// aa3 maps one-letter amino acids to HGVS three-letter codes (a table, not
// a map: p. notation looks one up per residue).
var aa3 = [256]string{
	'A': "Ala", 'R': "Arg", 'N': "Asn", 'D': "Asp", 'C': "Cys", 'Q': "Gln", 'E': "Glu",
	'G': "Gly", 'H': "His", 'I': "Ile", 'L': "Leu", 'K': "Lys", 'M': "Met", 'F': "Phe",
	'P': "Pro", 'S': "Ser", 'T': "Thr", 'W': "Trp", 'Y': "Tyr", 'V': "Val", '*': "Ter",
	'X': "Xaa", 'U': "Sec",
}

// AA3 is the HGVS three-letter code of a one-letter amino acid.
func AA3(a byte) string {
	if s := aa3[a]; s != "" {
		return s
	}
	return "Xaa"
}
