package vartable

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SortKey is a table column the index can order by.
type SortKey string

// Sort orders: position is table order (VCF order, each allele's rows most
// severe first); consequence orders by each row's most severe term, most
// severe first; the others are facet orders. Ties keep table order.
const (
	SortPosition    SortKey = "position"
	SortImpact      SortKey = SortKey(FacetImpact)
	SortConsequence SortKey = SortKey(FacetConsequence)
	SortGene        SortKey = SortKey(FacetGene)
	SortKnown       SortKey = SortKey(FacetKnown)
)

// sortFacet is the facet whose postings are the sort's permutation.
var sortFacet = map[SortKey]Facet{SortImpact: FacetImpact, SortConsequence: facetConsOrder, SortGene: FacetGene, SortKnown: FacetKnown}

// ParseSortKey accepts a sort column name; unknown names are ErrBadQuery.
func ParseSortKey(s string) (SortKey, error) {
	switch k := SortKey(s); k {
	case "":
		return SortPosition, nil
	case SortPosition, SortImpact, SortConsequence, SortGene, SortKnown:
		return k, nil
	}
	return "", fmt.Errorf("%w: cannot sort by %q", ErrBadQuery, s)
}

// Filter selects rows; empty fields match everything, and the set fields
// must all hold for one row. With MostSevere, each allele with a matching
// row shows only its most severe matching row (so a filter finds an
// allele by any of its transcripts, in either view).
type Filter struct {
	Impact      string // HIGH, MODERATE, LOW, MODIFIER
	Consequence string // any SO term of the row
	Gene        string // the row's Gene_Name
	Known       string // Known or Novel
	Transcript  string // Canonical or MANESelect
	Warning     string // a warning code, or AnyWarning
	// AFBelow, when above 0, keeps rows whose KNOWN_AF is below it or
	// unknown (add Known to leave out novel variants).
	AFBelow    float64
	MostSevere bool
}

// Query-string names of the filter's fields (ParseFilter, Filter.Values).
var filterParams = []string{"impact", "consequence", "gene", "known", "transcript", "warning", "af_below", "most_severe"}

// ParseFilter reads a filter from a query string; values it cannot use
// (an AF that is not a number in (0, 1], an unknown known/transcript
// word) are dropped rather than refused, as a menu would never send them.
func ParseFilter(q url.Values) Filter {
	f := Filter{Impact: q.Get("impact"), Consequence: q.Get("consequence"), Gene: strings.TrimSpace(q.Get("gene")),
		Known: q.Get("known"), Transcript: q.Get("transcript"), Warning: q.Get("warning"), MostSevere: q.Get("most_severe") == "1"}
	if f.Known != Known && f.Known != Novel {
		f.Known = ""
	}
	if f.Transcript != Canonical && f.Transcript != MANESelect {
		f.Transcript = ""
	}
	if af, err := strconv.ParseFloat(q.Get("af_below"), 64); err == nil && af > 0 && af <= 1 {
		f.AFBelow = af
	}
	return f
}

// Values is the filter as a query string ParseFilter reads back.
func (f Filter) Values() url.Values {
	v := url.Values{}
	for i, s := range []string{f.Impact, f.Consequence, f.Gene, f.Known, f.Transcript, f.Warning} {
		if s != "" {
			v.Set(filterParams[i], s)
		}
	}
	if f.AFBelow > 0 {
		v.Set("af_below", strconv.FormatFloat(f.AFBelow, 'g', -1, 64))
	}
	if f.MostSevere {
		v.Set("most_severe", "1")
	}
	return v
}

// IsZero reports whether the filter selects every row.
func (f Filter) IsZero() bool { return f == Filter{} }

// constraint is one condition: the union of some facet values' postings.
type constraint struct {
	facet  Facet
	values []*valueEntry
}

// constraints lists the filter's facet conditions; ok is false when one
// names a value the result lacks (nothing matches).
func (ix *Index) constraints(f Filter) (out []constraint, ok bool) {
	add := func(fc Facet, v string) bool {
		if v == "" {
			return true
		}
		if fc == FacetWarning && v == AnyWarning {
			vs := ix.facets[FacetWarning].Values
			c := constraint{facet: fc}
			for i := range vs {
				c.values = append(c.values, &vs[i])
			}
			out = append(out, c)
			return len(vs) > 0
		}
		e := ix.values[fc][v]
		out = append(out, constraint{facet: fc, values: []*valueEntry{e}})
		return e != nil
	}
	ok = add(FacetImpact, f.Impact) && add(FacetConsequence, f.Consequence) && add(FacetGene, f.Gene) &&
		add(FacetKnown, f.Known) && add(FacetTranscript, f.Transcript) && add(FacetWarning, f.Warning)
	return out, ok
}

func (c constraint) count() (n int64) {
	for _, v := range c.values {
		n += v.Count
	}
	return n
}

// selection returns the ordinals (ascending) the filter selects, or
// all=true when it selects every row.
func (ix *Index) selection(ctx context.Context, flt Filter) (ids []uint32, all bool, err error) {
	if flt.IsZero() {
		return nil, true, nil
	}
	key := fmt.Sprintf("sel\x00%+v", flt)
	if ids, ok := ix.cached(key); ok {
		return ids, false, nil
	}
	cs, ok := ix.constraints(flt)
	if !ok {
		return []uint32{}, false, nil
	}
	slices.SortFunc(cs, func(a, b constraint) int { return int(a.count() - b.count()) }) // smallest first
	var lists [][]uint32
	for _, c := range cs {
		l, err := ix.union(ctx, c)
		if err != nil {
			return nil, false, err
		}
		lists = append(lists, l)
	}
	if flt.AFBelow > 0 {
		l, err := ix.afBelow(ctx, flt.AFBelow)
		if err != nil {
			return nil, false, err
		}
		lists = append(lists, l)
	}
	switch {
	case len(lists) > 0:
		ids = lists[0]
		for _, l := range lists[1:] {
			ids = intersect(ids, l)
		}
		if flt.MostSevere {
			ids, err = ix.firstPerAllele(ctx, ids)
		}
	default: // MostSevere alone: every allele's first row
		ids, err = ix.alleleStarts(ctx, 0, ix.dict.Alleles)
	}
	if err != nil {
		return nil, false, err
	}
	ix.store(key, ids)
	return ids, false, nil
}

// union reads a constraint's postings as one ascending list.
func (ix *Index) union(ctx context.Context, c constraint) ([]uint32, error) {
	var out []uint32
	for _, v := range c.values {
		l, err := ix.postings(ctx, c.facet, v.Start, v.Count)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = l
			continue
		}
		merged := make([]uint32, 0, len(out)+len(l))
		i, j := 0, 0
		for i < len(out) || j < len(l) {
			switch {
			case j == len(l) || (i < len(out) && out[i] < l[j]):
				merged = append(merged, out[i])
				i++
			case i == len(out) || l[j] < out[i]:
				merged = append(merged, l[j])
				j++
			default:
				merged = append(merged, out[i])
				i, j = i+1, j+1
			}
		}
		out = merged
	}
	return out, nil
}

func intersect(a, b []uint32) []uint32 {
	out := make([]uint32, 0, min(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// afBelow selects the rows whose AF is below x or unknown: the AF facet's
// buckets wholly below x are a prefix of its postings (unknown first);
// the rows of the bucket x falls in are checked one by one. AFs are
// compared as the float32 of their written six-digit value, so a row
// whose KNOWN_AF reads 0.01 is not below 0.01.
func (ix *Index) afBelow(ctx context.Context, x float64) ([]uint32, error) {
	t := float32(x)
	tc := afCode(t)
	var prefix int64
	var edge *valueEntry
	for i := range ix.facets[facetAF].Values {
		v := &ix.facets[facetAF].Values[i]
		if v.Code < tc {
			prefix += v.Count
		} else if v.Code == tc {
			edge = v
		}
	}
	ids, err := ix.postings(ctx, facetAF, 0, prefix)
	if err != nil {
		return nil, err
	}
	if edge != nil {
		cand, err := ix.postings(ctx, facetAF, edge.Start, edge.Count)
		if err != nil {
			return nil, err
		}
		slices.Sort(cand)
		recs, err := ix.records(ctx, cand)
		if err != nil {
			return nil, err
		}
		for _, o := range cand {
			if recs[o].af < t {
				ids = append(ids, o)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// bitmapWords reads the allele-start bitmap's words [w0, w1): one range
// read per run they are in.
func (ix *Index) bitmapWords(ctx context.Context, w0, w1 int64) ([]uint64, error) {
	if w0 < 0 || w0 > w1 || w1 > (ix.dict.Rows+63)/64 {
		return nil, fmt.Errorf("%w: allele bitmap words %d to %d of %d rows", ErrCorrupt, w0, w1, ix.dict.Rows)
	}
	pieces := ix.lay.bitmapRanges(w0, w1)
	spans, err := ix.readSpans(ctx, pieces, 8)
	if err != nil {
		return nil, fmt.Errorf("read allele bitmap: %w", err)
	}
	out := make([]uint64, 0, w1-w0)
	for _, p := range pieces {
		b := spans[p.run].b
		for i := range p.n {
			out = append(out, binary.LittleEndian.Uint64(b[i*8:]))
		}
	}
	return out, nil
}

// firstPerAllele keeps, of ascending ids, each allele's first: an id is
// the first of its allele among ids when an allele starts after the
// previous id, up to and including it.
func (ix *Index) firstPerAllele(ctx context.Context, ids []uint32) ([]uint32, error) {
	if len(ids) == 0 {
		return ids, nil
	}
	if !slices.IsSorted(ids) {
		return nil, fmt.Errorf("%w: a posting list out of order", ErrCorrupt)
	}
	w0, w1 := int64(ids[0])/64, int64(ids[len(ids)-1])/64+1
	words, err := ix.bitmapWords(ctx, w0, w1)
	if err != nil {
		return nil, err
	}
	bit := func(o uint32) uint64 { return words[int64(o)/64-w0] >> (o % 64) & 1 }
	// startsIn reports whether an allele starts in (a, b].
	startsIn := func(a, b uint32) bool {
		for o := a + 1; o <= b; {
			if o%64 == 0 && b-o >= 63 {
				if words[int64(o)/64-w0] != 0 {
					return true
				}
				o += 64
				continue
			}
			if bit(o) != 0 {
				return true
			}
			o++
		}
		return false
	}
	out := ids[:1:1]
	for i := 1; i < len(ids); i++ {
		if startsIn(ids[i-1], ids[i]) {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// alleleStarts returns the first rows of alleles [from, from+n), reading
// only the bitmap blocks they are in.
func (ix *Index) alleleStarts(ctx context.Context, from, n int64) ([]uint32, error) {
	out := make([]uint32, 0, n)
	blocks := ix.dict.AlleleBlocks
	bi, _ := slices.BinarySearchFunc(blocks, from+1, func(a, t int64) int {
		if a < t {
			return -1
		}
		return 1
	})
	bi = max(bi-1, 0) // the last block starting at or before allele from
	for ; bi < len(blocks) && int64(len(out)) < n; bi++ {
		w0 := int64(bi) * blockRows / 64
		w1 := min(w0+blockRows/64, (ix.dict.Rows+63)/64)
		words, err := ix.bitmapWords(ctx, w0, w1)
		if err != nil {
			return nil, err
		}
		k := blocks[bi]
		for wi, w := range words {
			for x := w; x != 0 && int64(len(out)) < n; x &= x - 1 {
				if k >= from {
					out = append(out, uint32((w0+int64(wi))*64+int64(bits.TrailingZeros64(x))))
				}
				k++
			}
		}
	}
	return out, nil
}
