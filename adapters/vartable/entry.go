package vartable

// Vocabulary names the codes of the Entries an annotator hands over; it is
// fixed per reference, so it is given once.
type Vocabulary struct {
	// Terms is the consequence term of each Entry.Terms bit, most severe
	// (bit 0) first: the consequence sort follows it.
	Terms []string
	// Warnings is the code of each Entry.Warn bit.
	Warnings []string
	// Genes is the gene name of each Entry.Gene index.
	Genes []string
}

// Tags mark an entry's transcript as selected.
type Tags uint8

// Transcript tags.
const (
	TagCanonical Tags = 1 << iota
	TagMANESelect
)

// Line is one data line of the annotated VCF as it is written.
type Line struct {
	Offset int64  // of the line's first byte in the annotated VCF
	Length int    // without the line break
	Chrom  []byte // valid during the call only
	Pos    int64
	// Entries is how many of the call's entries are this line's: each
	// line's entries follow the previous line's. A line without ALT
	// alleles has none and is not a row.
	Entries int
}

// Entry is one row of the table: one ANN entry of one ALT allele, with
// codes into the Vocabulary. An allele's entries come most severe first,
// as the annotator wrote them, so its first is its most severe row.
type Entry struct {
	Allele uint32 // index into ALT (the index holds up to MaxLineRows)
	Ann    uint32 // index of the entry in the line's ANN list (likewise)
	Impact Impact
	Tags   Tags
	// Known: the allele matched a known variant (or the line came with an ID).
	Known bool
	Terms uint32  // bit i: Vocabulary.Terms[i]
	Warn  uint32  // bit i: Vocabulary.Warnings[i]; problems only
	Gene  int32   // index into Vocabulary.Genes, -1 for none
	AF    float32 // KNOWN_AF as written (six significant digits), NaN when unknown
}

// Sink takes the table of an annotated VCF while the VCF is written:
// Start once, then every written line in file order. The Builder is one.
type Sink interface {
	Start(v *Vocabulary, headerLength int64) error
	Lines(lines []Line, entries []Entry) error
}
