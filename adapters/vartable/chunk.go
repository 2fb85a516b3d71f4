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

// narrow marks the columns of codes under 256, kept in a byte each.
const narrow = 1<<colImpact | 1<<colKnown | 1<<colTags | 1<<colConsOrder

// chunk holds the codes of the rows not yet sorted, a column per facet:
// sorting by a facet then reads its own codes only, one after the other,
// instead of striding over every row's eight. A column is in small if
// narrow, else in wide.
type chunk struct {
	small [numCols][]uint8  // all of the same length: the rows there is room for
	wide  [numCols][]uint32 // likewise
	first []uint64          // allele-start bits, one word per 64 rows of room
	n     int               // rows held
	// sorted is the postings of the facet last sorted (each run's, one
	// facet after the other), next the scratch that sorting takes.
	sorted []byte
	next   []uint32
}

// spareChunks keeps a few chunks between indexes: a server indexing job
// after job would otherwise grow (and the collector reclaim) a fresh one
// of up to 10 MiB, and its postings buffer, for each. Not a sync.Pool:
// the collections a large job triggers would empty one before the next
// job. Bounded, so at most two chunks outlive their jobs.
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
	n := min(max(2*len(c.wide[colTerms]), 1<<10), limit)
	for k := range numCols {
		if narrow&(1<<k) != 0 {
			c.small[k] = slices.Grow(c.small[k], n-len(c.small[k]))[:n]
		} else {
			c.wide[k] = slices.Grow(c.wide[k], n-len(c.wide[k]))[:n]
		}
	}
	c.first = slices.Grow(c.first, n/64-len(c.first))[:n/64]
}

// bitmap is the chunk's allele-start bits as the index stores them.
func (c *chunk) bitmap() []byte {
	b, _ := binary.Append(nil, binary.LittleEndian, c.first[:(c.n+63)/64])
	return b
}
