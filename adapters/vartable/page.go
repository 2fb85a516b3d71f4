package vartable

import (
	"context"
	"fmt"
	"slices"
)

// Query is one page request.
type Query struct {
	Filter Filter
	Sort   SortKey
	Desc   bool
	Offset int64
	Limit  int64
}

// Page is one page of the table and the size of the whole selection.
type Page struct {
	Total    int64
	Variants []Variant
}

// order returns the selection in the requested sort, ascending, as a list
// of ordinals; with all=true the selection is every row and the caller
// reads the sort's permutation (or positions) directly.
func (ix *Index) order(ctx context.Context, flt Filter, key SortKey) (ids []uint32, all bool, err error) {
	if key == SortPosition && flt.MostSevere && flt == (Filter{MostSevere: true}) {
		return nil, false, nil // Query pages the allele starts directly
	}
	sel, all, err := ix.selection(ctx, flt)
	if err != nil || key == SortPosition || all {
		return sel, all, err
	}
	f := sortFacet[key]
	// Filtering on a one-value-per-row sort facet leaves one value: table
	// order is the sort.
	if (key == SortImpact && flt.Impact != "") || (key == SortGene && flt.Gene != "") || (key == SortKnown && flt.Known != "") {
		return sel, false, nil
	}
	ck := fmt.Sprintf("ord\x00%s\x00%+v", key, flt)
	if ids, ok := ix.cached(ck); ok {
		return ids, false, nil
	}
	member := make([]uint64, (ix.dict.Rows+63)/64)
	for _, id := range sel {
		member[id/64] |= 1 << (id % 64)
	}
	out := make([]uint32, 0, len(sel))
	const chunk = 1 << 16
	for start := int64(0); start < ix.dict.Rows && len(out) < len(sel); start += chunk {
		ps, err := ix.postings(ctx, f, start, min(chunk, ix.dict.Rows-start))
		if err != nil {
			return nil, false, err
		}
		for _, id := range ps {
			if member[id/64]&(1<<(id%64)) != 0 {
				out = append(out, id)
			}
		}
	}
	ix.store(ck, out)
	return out, false, nil
}

// view is a selection worked out in its sort order: ids, or every row
// (all), or every allele's first row (alleles).
type view struct {
	ids          []uint32
	all, alleles bool
	key          SortKey
	total        int64
}

func (ix *Index) view(ctx context.Context, flt Filter, key SortKey) (view, error) {
	if key == "" {
		key = SortPosition
	}
	if _, err := ParseSortKey(string(key)); err != nil {
		return view{}, err
	}
	ids, all, err := ix.order(ctx, flt, key)
	if err != nil {
		return view{}, err
	}
	v := view{ids: ids, all: all, alleles: ids == nil && !all, key: key, total: int64(len(ids))}
	switch {
	case v.all:
		v.total = ix.dict.Rows
	case v.alleles:
		v.total = ix.dict.Alleles
	}
	return v, nil
}

// rows reads the view's rows [off, off+n) (counted from the end when desc).
func (ix *Index) rows(ctx context.Context, v view, off, n int64, desc bool) ([]Variant, error) {
	n = min(n, v.total-off)
	if n <= 0 {
		return nil, nil
	}
	a := off // ascending positions [a, a+n) cover the rows in either direction
	if desc {
		a = v.total - off - n
	}
	var ords []uint32
	var err error
	switch {
	case v.alleles:
		ords, err = ix.alleleStarts(ctx, a, n)
	case !v.all:
		ords = slices.Clone(v.ids[a : a+n])
	case v.key == SortPosition:
		ords = make([]uint32, n)
		for i := range ords {
			ords[i] = uint32(a + int64(i))
		}
	default:
		ords, err = ix.postings(ctx, sortFacet[v.key], a, n)
	}
	if err != nil {
		return nil, err
	}
	if desc {
		slices.Reverse(ords)
	}
	return ix.variants(ctx, ords)
}

// Query returns one page of the filtered, sorted table.
func (ix *Index) Query(ctx context.Context, q Query) (Page, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return Page{}, fmt.Errorf("%w: negative offset or limit", ErrBadQuery)
	}
	v, err := ix.view(ctx, q.Filter, q.Sort)
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: v.total}
	page.Variants, err = ix.rows(ctx, v, q.Offset, q.Limit, q.Desc)
	return page, err
}

// Each calls fn with successive batches of the whole selection in sort
// order, for streaming a filtered download. The selection is worked out
// once, whatever its size.
func (ix *Index) Each(ctx context.Context, flt Filter, key SortKey, desc bool, batch int, fn func([]Variant) error) error {
	if batch <= 0 {
		batch = 1000
	}
	v, err := ix.view(ctx, flt, key)
	if err != nil {
		return err
	}
	for off := int64(0); off < v.total; off += int64(batch) {
		vs, err := ix.rows(ctx, v, off, int64(batch), desc)
		if err != nil {
			return err
		}
		if err := fn(vs); err != nil {
			return err
		}
	}
	return nil
}
