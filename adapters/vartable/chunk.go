package vartable

import (
	"encoding/binary"
	"slices"
)

// chunk columns, one per facet in the facets' file order: one code per
// row each.
const (
	colImpact = iota
	colTerms
	colGene
	colKnown
	colTags
	colWarn
	colConsOrder
	colAF
	numCols
)

// chunk holds the codes of the rows not yet sorted, a column per facet:
// sorting by a facet then reads its own codes only, one after the other,
// instead of striding over every row's eight.
type chunk struct {
	cols  [numCols][]uint32 // all of the same length: the rows there is room for
	first []uint64          // allele-start bits, one word per 64 rows of room
	n     int               // rows held
	// sorted is the postings of the facet last sorted (each run's, one
	// facet after the other), next the scratch that sorting takes.
	sorted []byte
	next   []uint32
}

// spareChunks keeps a few chunks between indexes: a server indexing job
// after job would otherwise grow (and the collector reclaim) a fresh one
// of up to 16 MiB (and its postings buffer) for each. Not a sync.Pool: the collections a large job
// triggers would empty one before the next job. Bounded, so at most two
// chunks outlive their jobs.
var spareChunks = make(chan *chunk, 2)

// newChunk is a spare chunk, emptied, or a new one.
func newChunk() *chunk {
	select {
	case c := <-spareChunks:
		c.n = 0
		clear(c.first)
		return c
	default:
		return &chunk{}
	}
}

// keepChunk keeps c for the next index if there is room.
func keepChunk(c *chunk) {
	select {
	case spareChunks <- c:
	default:
	}
}

// grow makes room for twice the rows, limit at most. Doubling: append
// would grow a large column by a quarter at a time, copying it over and
// over. Columns stay multiples of 64 rows long (limit is one), a word of
// allele-start bits each.
func (c *chunk) grow(limit int) {
	n := min(max(2*len(c.cols[0]), 1<<10), limit)
	for k, col := range c.cols {
		c.cols[k] = slices.Grow(col, n-len(col))[:n]
	}
	c.first = slices.Grow(c.first, n/64-len(c.first))[:n/64]
}

// bitmap is the chunk's allele-start bits as the index stores them.
func (c *chunk) bitmap() []byte {
	b, _ := binary.Append(nil, binary.LittleEndian, c.first[:(c.n+63)/64])
	return b
}
