package vartable

import (
	"encoding/binary"
	"errors"
	"math"
)

// On-disk constants. They are the format: changing one needs a new magic.
const (
	v2Magic     = "GASVIXE2" // the footer of format 2 (one run), still read
	oldMagic    = "GASVIXE1" // the footer of format 1 (one record per allele)
	headerSize  = 8
	footerSize  = 24
	recordSize  = 40
	postingSize = 4
	// blockRows is the granularity of Dictionary.AlleleBlocks: paging the
	// one-row-per-allele view reads one bitmap block of this many rows.
	blockRows = 1 << 16
	version   = 4
	// minRange is the fewest consecutive rows of a value in a run given
	// as a range rather than listed: three numbers in the dictionary
	// cost more than a few postings.
	minRange = 16
)

// magics are the header and footer of each format written: 3 (fixed
// 40-byte records) and 4 (rows in blocks of varints, rowcode.go).
var magics = map[int]struct{ header, footer string }{
	3: {"GASVIX03", "GASVIXE3"},
	4: {"GASVIX04", "GASVIXE4"},
}

// Errors callers can match.
var (
	// ErrCorrupt means the index bytes are not a GAS variant index.
	ErrCorrupt = errors.New("corrupt variant index")
	// ErrOldFormat means the index was written by an older GAS (one row
	// per allele); annotating the input again writes a current one.
	ErrOldFormat = errors.New("variant index of an older GAS version (re-run the job to rebuild it)")
	// ErrBadQuery means a query asks for something the index cannot do.
	ErrBadQuery = errors.New("invalid variant query")
	// ErrLineTooLarge means a line has more ALT alleles or annotations
	// than a row can name (MaxLineRows): the input's problem, not the
	// index's.
	ErrLineTooLarge = errors.New("line too large for the variant table")
)

// MaxLineRows bounds a line's ALT alleles and its ANN entries.
const MaxLineRows = math.MaxUint16

// Impact is the putative impact class of the ANN standard, ordered so that a
// larger value is more severe.
type Impact uint8

// Impact classes, least severe first; ImpactNone marks rows without one.
const (
	ImpactNone Impact = iota
	ImpactModifier
	ImpactLow
	ImpactModerate
	ImpactHigh
)

var impactNames = [...]string{"", "MODIFIER", "LOW", "MODERATE", "HIGH"}

// String is the ANN spelling, used in filters, tables and exports.
func (i Impact) String() string {
	if int(i) < len(impactNames) {
		return impactNames[i]
	}
	return ""
}

// ParseImpact reads the ANN spelling; unknown words are ImpactNone.
func ParseImpact(s string) Impact {
	for i, n := range impactNames {
		if n == s && n != "" {
			return Impact(i)
		}
	}
	return ImpactNone
}

// Facet names one filterable column.
type Facet string

// The facets. Impact, gene and known have one value per row; a row has as
// many consequence terms, transcript tags and warnings as it carries.
const (
	FacetImpact      Facet = "impact"
	FacetConsequence Facet = "consequence"
	FacetGene        Facet = "gene"
	FacetKnown       Facet = "known"
	FacetTranscript  Facet = "transcript"
	FacetWarning     Facet = "warning"
	// facetConsOrder orders rows by their most severe term (the
	// consequence sort); facetAF groups them by allele frequency (the
	// "AF below" filter). Neither is a menu.
	facetConsOrder Facet = "consequence_order"
	facetAF        Facet = "af"
)

// Values of the known and transcript facets.
const (
	Known      = "known"
	Novel      = "novel"
	Canonical  = "canonical"
	MANESelect = "mane_select"
	// AnyWarning as Filter.Warning matches rows with any warning.
	AnyWarning = "any"
)

// record flags
const (
	flagKnown = 1 << iota
	flagCanonical
	flagMANE
	flagFirst // the allele's first, most severe row
)

// record is the fixed-size on-disk entry of one row.
type record struct {
	offset      uint64
	length      uint32
	pos         uint32
	chrom       uint16
	allele, ann uint16
	impact      Impact
	flags       uint8
	terms       uint32
	gene        uint32 // gene name code + 1; 0: none
	warn        uint32
	af          float32 // NaN: unknown
}

// putRecord encodes a row's record in b (getRecord reads it back),
// straight from what the builder is handed.
func putRecord(b []byte, l *Line, chrom uint16, e *Entry, gene uint32, flags uint8) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(l.Offset))
	le.PutUint32(b[8:], uint32(l.Length))
	le.PutUint32(b[12:], uint32(l.Pos))
	le.PutUint16(b[16:], chrom)
	le.PutUint16(b[18:], uint16(e.Allele))
	le.PutUint16(b[20:], uint16(e.Ann))
	b[22], b[23] = byte(e.Impact), flags
	le.PutUint32(b[24:], e.Terms)
	le.PutUint32(b[28:], gene)
	le.PutUint32(b[32:], e.Warn)
	le.PutUint32(b[36:], math.Float32bits(e.AF))
}

func getRecord(b []byte) record {
	le := binary.LittleEndian
	return record{
		offset: le.Uint64(b[0:]), length: le.Uint32(b[8:]), pos: le.Uint32(b[12:]), chrom: le.Uint16(b[16:]),
		allele: le.Uint16(b[18:]), ann: le.Uint16(b[20:]), impact: Impact(b[22]), flags: b[23],
		terms: le.Uint32(b[24:]), gene: le.Uint32(b[28:]), warn: le.Uint32(b[32:]), af: math.Float32frombits(le.Uint32(b[36:])),
	}
}

// afCode is the AF facet's code of a frequency: 0 for unknown, else the
// top 16 bits of its float32 plus one, which orders non-negative values
// (a bucket spans under 1% of its value; the filter checks the exact
// values of the one bucket a threshold falls in).
func afCode(af float32) uint32 {
	if af != af { // NaN
		return 0
	}
	return math.Float32bits(max(af, 0))>>16 + 1
}

// afCodes is the size of the AF facet's code space.
const afCodes = 1<<15 + 2

// dictionary is the JSON section: the names behind the records' codes,
// where each run's regions are and, per facet, each value's rows in
// table order and in each run.
type dictionary struct {
	Version  int      `json:"version"`
	Rows     int64    `json:"rows"`
	Alleles  int64    `json:"alleles"`
	Header   int64    `json:"header"` // bytes of the VCF header, for VCF exports
	Chroms   []string `json:"chroms"`
	Terms    []string `json:"terms"`
	Warnings []string `json:"warnings"`
	Genes    []string `json:"genes"`
	// AlleleBlocks[i] is the number of alleles starting before row
	// i×blockRows.
	AlleleBlocks []int64 `json:"allele_blocks"`
	// RunRows is the rows of every run but the last (a multiple of 64);
	// Runs says where each run's regions are. Format 2 has neither: its
	// one run's records follow the header, Bitmap is its bitmap and each
	// facet's Offset its postings.
	RunRows int64        `json:"run_rows,omitempty"`
	Runs    []runEntry   `json:"runs,omitempty"`
	Bitmap  int64        `json:"bitmap,omitempty"`
	Facets  []facetEntry `json:"facets"`
}

// runEntry locates one run: its records, its allele-start bitmap (one
// bit per row, set on each allele's first row, in 64-bit little-endian
// words) and, per facet in file order, its postings.
type runEntry struct {
	Records int64 `json:"records"`
	// Blocks is where the run's block table starts (format 4): a uint32
	// per block of rowBlock rows, the byte its rows start at in the
	// records, then where the records end.
	Blocks   int64   `json:"blocks,omitempty"`
	Bitmap   int64   `json:"bitmap"`
	Postings []int64 `json:"postings"`
}

type facetEntry struct {
	Name   Facet        `json:"name"`
	Offset int64        `json:"offset,omitempty"` // format 2: byte offset of the facet's postings
	Values []valueEntry `json:"values"`           // in sort order
}

type valueEntry struct {
	Value   string `json:"value"`
	Code    uint32 `json:"code"`  // the rows' code for the value
	Start   int64  `json:"start"` // index of its first posting in table order
	Count   int64  `json:"count"` // rows
	Alleles int64  `json:"alleles,omitempty"`
	// Runs are the runs with rows of the value, by run: [run, rows], its
	// rows listed in the run's postings of the facet (values in the
	// facet's order); or [run, rows, first] when they are consecutive
	// ordinals from first (at least minRange of them, or all the run's),
	// listed nowhere.
	Runs [][]int64 `json:"runs,omitempty"`
}
