package vartable

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// facet is one facet's definition and running totals. Its rows are
// counted as they are added, while their codes are at hand, so sorting a
// chunk by it takes a single pass over its column.
type facet struct {
	name  Facet
	multi bool     // a row has a set of codes (bit i: code i), not one
	names []string // per code
	order []uint32 // codes in sort order
	rows  []int64  // per code
	// alleles counts alleles per code (nil: not counted).
	alleles []alleleCount
	counts  []uint32 // per code: rows in the chunk
}

// alleleCount is the alleles with a row with a code: n of them, the last
// numbered last (alleles are numbered from 1, 0: none yet), so that each
// counts once.
type alleleCount struct{ n, last uint32 }

// newFacet is a facet with empty totals for its names.
func newFacet(name Facet, multi, alleles bool, names []string, order []uint32) facet {
	n := len(names)
	f := facet{name: name, multi: multi, names: names, order: order, rows: make([]int64, n), counts: make([]uint32, n)}
	if alleles {
		f.alleles = make([]alleleCount, n)
	}
	return f
}

// grow makes room for codes up to n: genes, as rows name them.
func (f *facet) grow(n int) {
	for len(f.rows) < n {
		f.rows, f.counts, f.alleles = append(f.rows, 0), append(f.counts, 0), append(f.alleles, alleleCount{})
	}
}

// note counts a row of allele a with code.
func (f *facet) note(code, a uint32) { f.noteIf(code, a, 1) }

// noteIf counts a row of allele a with code if has is 1 (not if 0),
// without branches: the facets' codes come in no order a branch predictor
// could learn. a is never below last, so min(a-last, 1) is whether the
// allele is new for the code.
func (f *facet) noteIf(code, a, has uint32) {
	c, mask := &f.alleles[code], -has
	d := a - c.last
	f.counts[code] += has
	c.n += min(d, 1) & mask
	c.last += d & mask
}

// noteSet counts a row of allele a with the set of codes v.
func (f *facet) noteSet(v, a uint32) {
	for ; v != 0; v &= v - 1 {
		f.note(uint32(bits.TrailingZeros32(v)), a)
	}
}

// take ends the chunk: it adds the chunk's counts to the totals and
// returns them, counting the next chunk afresh unless last.
func (f *facet) take(last bool) []uint32 {
	counts := f.counts
	for code, n := range counts {
		f.rows[code] += int64(n)
	}
	if !last {
		f.counts = make([]uint32, len(counts))
	}
	return counts
}

// sortColumn puts the postings of col (codes of rows from ordinal start)
// into buf (reused) and returns them: ordinals grouped by code in the
// facet's order, ascending within a code, as little-endian bytes. counts
// are col's rows per code; next is scratch of a slot per code.
func sortColumn[T uint8 | uint32](f *facet, col []T, counts []uint32, start int64, buf []byte, next []uint32) []byte {
	total := 0
	for _, code := range f.order {
		next[code] = uint32(total)
		total += int(counts[code])
	}
	// A slot more, for scatterPairs.
	buf = slices.Grow(buf[:0], (total+1)*postingSize)[:(total+1)*postingSize]
	switch {
	case !f.multi:
		scatter(col, next, buf, uint32(start))
	case len(f.names) == 2:
		scatterPairs(col, next, buf, uint32(start))
	default:
		scatterSets(col, next, buf, uint32(start))
	}
	return buf[:total*postingSize]
}

// scatter puts each row's ordinal, o for the first, at its code's next
// slot.
func scatter[T uint8 | uint32](col []T, next []uint32, buf []byte, o uint32) {
	for i, v := range col {
		p := next[v]
		next[v] = p + 1
		binary.LittleEndian.PutUint32(buf[int(p)*postingSize:], o+uint32(i))
	}
}

// scatterSets does it for every code of each row's set.
func scatterSets[T uint8 | uint32](col []T, next []uint32, buf []byte, o uint32) {
	for i, v := range col {
		for ; v != 0; v &= v - 1 {
			code := bits.TrailingZeros32(uint32(v))
			p := next[code]
			next[code] = p + 1
			binary.LittleEndian.PutUint32(buf[int(p)*postingSize:], o+uint32(i))
		}
	}
}

// scatterPairs does it for sets of two codes, without a branch on the
// bits (the predictor cannot learn them): a code a row lacks gets the
// ordinal in the spare slot past the postings instead.
func scatterPairs[T uint8 | uint32](col []T, next []uint32, buf []byte, o uint32) {
	spare := uint32(len(buf)/postingSize - 1)
	for i, v := range col {
		for code := range 2 {
			has := uint32(v >> code & 1)
			p := next[code]
			at := spare
			if has != 0 {
				at = p
			}
			next[code] = p + has
			binary.LittleEndian.PutUint32(buf[int(at)*postingSize:], o+uint32(i))
		}
	}
}

// values lists the facet's non-empty values in order with their counts,
// posting starts and rows in each of runs (the facet is runs' i-th).
func (f *facet) values(runs []run, i int) []valueEntry {
	n := 0
	for _, rows := range f.rows {
		n += min(int(rows), 1)
	}
	out := make([]valueEntry, 0, n)
	var start int64
	for _, code := range f.order {
		if f.rows[code] == 0 {
			continue
		}
		v := valueEntry{Value: f.names[code], Code: code, Start: start, Count: f.rows[code]}
		if f.alleles != nil {
			v.Alleles = int64(f.alleles[code].n)
		}
		for k, r := range runs {
			counts := r.counts[i]
			if int(code) >= len(counts) || counts[code] == 0 { // a gene first seen after the run
				continue
			}
			rn := []int64{int64(k), int64(counts[code])}
			if first, ok := r.firsts[i][code]; ok {
				rn = append(rn, first)
			}
			v.Runs = append(v.Runs, rn)
		}
		out = append(out, v)
		start += f.rows[code]
	}
	return out
}

// byName orders codes by their names, alphabetically with "" last. Names
// are distinct, so codes given later fall into the same order.
func byName(names []string) []uint32 {
	o := ascending(len(names))
	slices.SortFunc(o, func(x, y uint32) int {
		a, c := names[x], names[y]
		if (a == "") != (c == "") {
			if a == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, c)
	})
	return o
}

func ascending(n int) []uint32 {
	o := make([]uint32, n)
	for i := range o {
		o[i] = uint32(i)
	}
	return o
}

// The AF facet's names (none: the dictionary gives its values' codes)
// and order, the same for every index.
var (
	afNames = make([]string, afCodes)
	afOrder = ascending(afCodes)
)

// defineFacets lists the facets in file order, which is the chunk's
// column order, with their value orders: impact most severe first,
// consequences by severity, genes and warnings alphabetically (no gene
// last), known before novel.
func (b *Builder) defineFacets() [numCols]facet {
	consOrder := append(slices.Clone(b.voc.Terms), "")
	return [numCols]facet{
		colImpact:    newFacet(FacetImpact, false, true, impactNames[:], []uint32{4, 3, 2, 1, 0}),
		colTerms:     newFacet(FacetConsequence, true, true, b.voc.Terms, ascending(len(b.voc.Terms))),
		colGene:      newFacet(FacetGene, false, true, b.genes.names, byName(b.genes.names)),
		colKnown:     newFacet(FacetKnown, false, true, []string{Novel, Known}, []uint32{1, 0}),
		colTags:      newFacet(FacetTranscript, true, true, []string{Canonical, MANESelect}, []uint32{0, 1}),
		colWarn:      newFacet(FacetWarning, true, true, b.voc.Warnings, byName(b.voc.Warnings)),
		colConsOrder: newFacet(facetConsOrder, false, false, consOrder, ascending(len(consOrder))),
		colAF:        newFacet(facetAF, false, false, afNames, afOrder),
	}
}
