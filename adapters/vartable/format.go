package vartable

import (
	"encoding/binary"
	"errors"
)

// On-disk constants. They are the format: changing one needs a new magic.
const (
	headerMagic = "GASVIX01"
	footerMagic = "GASVIXE1"
	headerSize  = 8
	footerSize  = 24
	recordSize  = 32
	postingSize = 4
)

// Errors callers can match.
var (
	// ErrCorrupt means the index bytes are not a GAS variant index.
	ErrCorrupt = errors.New("corrupt variant index")
	// ErrCompressed means the VCF handed to the indexer is gzip/BGZF:
	// byte offsets must point into the stored plain-text result.
	ErrCompressed = errors.New("variant index needs the plain-text annotated VCF")
	// ErrUnknownValue means a filter names a value absent from the result,
	// which simply matches nothing.
	ErrUnknownValue = errors.New("no such value in this result")
	// ErrBadQuery means a query asks for something the index cannot do.
	ErrBadQuery = errors.New("invalid variant query")
)

// Impact is the putative impact class of the ANN standard, ordered so that a
// larger value is more severe.
type Impact uint8

// Impact classes, least severe first; ImpactNone marks alleles without an
// annotation.
const (
	ImpactNone Impact = iota
	ImpactModifier
	ImpactLow
	ImpactModerate
	ImpactHigh
)

// String is the ANN spelling, used in filters, tables and exports.
func (i Impact) String() string {
	switch i {
	case ImpactModifier:
		return "MODIFIER"
	case ImpactLow:
		return "LOW"
	case ImpactModerate:
		return "MODERATE"
	case ImpactHigh:
		return "HIGH"
	}
	return ""
}

// ParseImpact reads the ANN spelling; unknown words are ImpactNone.
func ParseImpact(s string) Impact {
	switch s {
	case "HIGH":
		return ImpactHigh
	case "MODERATE":
		return ImpactModerate
	case "LOW":
		return ImpactLow
	case "MODIFIER":
		return ImpactModifier
	}
	return ImpactNone
}

// Facet names one filterable, sortable column.
type Facet string

// The facets the index keeps postings for, in file order.
const (
	FacetImpact      Facet = "impact"
	FacetConsequence Facet = "consequence"
	FacetGene        Facet = "gene"
	FacetKnown       Facet = "known"
)

var facetOrder = []Facet{FacetImpact, FacetConsequence, FacetGene, FacetKnown}

// record is the fixed-size on-disk entry of one annotated allele.
type record struct {
	offset      uint64
	length      uint32
	pos         uint32
	chrom       uint16
	consequence uint16
	gene        uint32
	allele      uint16
	impact      Impact
	known       bool
}

func (r record) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], r.offset)
	binary.LittleEndian.PutUint32(b[8:], r.length)
	binary.LittleEndian.PutUint32(b[12:], r.pos)
	binary.LittleEndian.PutUint16(b[16:], r.chrom)
	binary.LittleEndian.PutUint16(b[18:], r.consequence)
	binary.LittleEndian.PutUint32(b[20:], r.gene)
	binary.LittleEndian.PutUint16(b[24:], r.allele)
	b[26] = byte(r.impact)
	b[27] = 0
	if r.known {
		b[27] = 1
	}
	binary.LittleEndian.PutUint32(b[28:], 0)
}

func getRecord(b []byte) record {
	return record{
		offset:      binary.LittleEndian.Uint64(b[0:]),
		length:      binary.LittleEndian.Uint32(b[8:]),
		pos:         binary.LittleEndian.Uint32(b[12:]),
		chrom:       binary.LittleEndian.Uint16(b[16:]),
		consequence: binary.LittleEndian.Uint16(b[18:]),
		gene:        binary.LittleEndian.Uint32(b[20:]),
		allele:      binary.LittleEndian.Uint16(b[24:]),
		impact:      Impact(b[26]),
		known:       b[27]&1 != 0,
	}
}

// dictionary is the JSON section: names behind the records' codes and, per
// facet, where each value's postings start.
type dictionary struct {
	Version      int          `json:"version"`
	Records      int64        `json:"records"`
	Chroms       []string     `json:"chroms"`
	Consequences []string     `json:"consequences"`
	Genes        []string     `json:"genes"`
	Facets       []facetEntry `json:"facets"`
}

type facetEntry struct {
	Name   Facet        `json:"name"`
	Offset int64        `json:"offset"` // byte offset of the facet's postings
	Values []valueEntry `json:"values"` // in sort order
}

type valueEntry struct {
	Value string `json:"value"`
	Code  uint32 `json:"code"`  // the records' code for the value
	Start int64  `json:"start"` // index of the first posting
	Count int64  `json:"count"`
}
