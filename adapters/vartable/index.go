package vartable

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
)

// Ranger reads length bytes of one stored object from offset (length < 0:
// to the end). Object stores provide it as GetRange with the key bound.
type Ranger func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// readRange reads exactly length bytes at offset.
func readRange(ctx context.Context, r Ranger, offset, length int64) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	rc, err := r(ctx, offset, length)
	if err != nil {
		return nil, fmt.Errorf("read %d bytes at %d: %w", length, offset, err)
	}
	defer rc.Close()
	buf := make([]byte, length)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("read %d bytes at %d: %w", length, offset, err)
	}
	return buf, nil
}

// Variant is one indexed allele: where its line is in the result VCF and
// the columns the table filters and sorts on.
type Variant struct {
	Ordinal     int64 // position in VCF order, 0-based
	Offset      int64 // byte offset of the VCF line
	Length      int   // line length without the newline
	Chrom       string
	Pos         int64
	Allele      int // index into ALT
	Impact      Impact
	Consequence string
	Gene        string
	Known       bool
}

// ValueCount is one facet value with its number of variants, for filter menus.
type ValueCount struct {
	Value string
	Count int64
}

// SortKey is a table column the index can order by.
type SortKey string

// Sort orders: position is VCF order; the others are facet orders with ties
// in VCF order.
const (
	SortPosition    SortKey = "position"
	SortImpact      SortKey = SortKey(FacetImpact)
	SortConsequence SortKey = SortKey(FacetConsequence)
	SortGene        SortKey = SortKey(FacetGene)
	SortKnown       SortKey = SortKey(FacetKnown)
)

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

// Filter selects variants; empty fields match everything. Known is "known",
// "novel" or "".
type Filter struct {
	Impact      string
	Consequence string
	Gene        string
	Known       string
}

// active lists the (facet, value) pairs the filter constrains.
func (f Filter) active() []struct {
	facet Facet
	value string
} {
	var out []struct {
		facet Facet
		value string
	}
	add := func(fc Facet, v string) {
		if v != "" {
			out = append(out, struct {
				facet Facet
				value string
			}{fc, v})
		}
	}
	add(FacetImpact, f.Impact)
	add(FacetConsequence, f.Consequence)
	add(FacetGene, f.Gene)
	add(FacetKnown, f.Known)
	return out
}

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

// Index is an opened variant index. It keeps only the dictionary and a few
// recent selections in memory, so it is cheap to cache per result; it is safe
// for concurrent use.
type Index struct {
	src    Ranger
	dict   dictionary
	facets map[Facet]*facetEntry
	values map[Facet]map[string]*valueEntry

	mu        sync.Mutex
	cache     []cacheEntry
	cacheSize int64
}

type cacheEntry struct {
	key string
	ids []uint32
}

// maxCacheBytes bounds the selections one Index keeps.
const maxCacheBytes = 16 << 20

// Open reads the footer and dictionary of an index of size bytes.
func Open(ctx context.Context, src Ranger, size int64) (*Index, error) {
	if size < headerSize+footerSize {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrCorrupt, size)
	}
	foot, err := readRange(ctx, src, size-footerSize, footerSize)
	if err != nil {
		return nil, fmt.Errorf("open variant index: %w", err)
	}
	if string(foot[16:]) != footerMagic {
		return nil, fmt.Errorf("%w: bad footer", ErrCorrupt)
	}
	dOff, dLen := int64(binary.LittleEndian.Uint64(foot[0:])), int64(binary.LittleEndian.Uint64(foot[8:]))
	if dOff < headerSize || dLen <= 0 || dOff+dLen != size-footerSize {
		return nil, fmt.Errorf("%w: dictionary at %d+%d in %d bytes", ErrCorrupt, dOff, dLen, size)
	}
	js, err := readRange(ctx, src, dOff, dLen)
	if err != nil {
		return nil, fmt.Errorf("open variant index: %w", err)
	}
	ix := &Index{src: src, facets: map[Facet]*facetEntry{}, values: map[Facet]map[string]*valueEntry{}}
	if err := json.Unmarshal(js, &ix.dict); err != nil {
		return nil, fmt.Errorf("%w: dictionary: %v", ErrCorrupt, err)
	}
	if ix.dict.Version != 1 || ix.dict.Records < 0 || headerSize+ix.dict.Records*recordSize > dOff {
		return nil, fmt.Errorf("%w: dictionary describes %d records", ErrCorrupt, ix.dict.Records)
	}
	for i := range ix.dict.Facets {
		f := &ix.dict.Facets[i]
		ix.facets[f.Name] = f
		m := map[string]*valueEntry{}
		var sum int64
		for j := range f.Values {
			m[f.Values[j].Value] = &f.Values[j]
			sum += f.Values[j].Count
		}
		if sum != ix.dict.Records || f.Offset+sum*postingSize > dOff {
			return nil, fmt.Errorf("%w: facet %s postings do not cover the records", ErrCorrupt, f.Name)
		}
		ix.values[f.Name] = m
	}
	for _, f := range facetOrder {
		if ix.facets[f] == nil {
			return nil, fmt.Errorf("%w: facet %s missing", ErrCorrupt, f)
		}
	}
	return ix, nil
}

// Len is the number of indexed variants.
func (ix *Index) Len() int64 { return ix.dict.Records }

// Values lists a facet's values in its sort order with their counts; the
// empty value (no gene, no annotation) is reported as "".
func (ix *Index) Values(f Facet) []ValueCount {
	fe := ix.facets[f]
	if fe == nil {
		return nil
	}
	out := make([]ValueCount, len(fe.Values))
	for i, v := range fe.Values {
		out[i] = ValueCount{v.Value, v.Count}
	}
	return out
}

// postings reads count posting ordinals of facet f from index start.
func (ix *Index) postings(ctx context.Context, f Facet, start, count int64) ([]uint32, error) {
	fe := ix.facets[f]
	b, err := readRange(ctx, ix.src, fe.Offset+start*postingSize, count*postingSize)
	if err != nil {
		return nil, fmt.Errorf("read %s postings: %w", f, err)
	}
	out := make([]uint32, count)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[i*postingSize:])
	}
	return out, nil
}

// selection returns the ordinals (ascending) matching the filter, or
// all=true when the filter is empty.
func (ix *Index) selection(ctx context.Context, flt Filter) (ids []uint32, all bool, err error) {
	act := flt.active()
	if len(act) == 0 {
		return nil, true, nil
	}
	key := fmt.Sprintf("sel\x00%s\x00%s\x00%s\x00%s", flt.Impact, flt.Consequence, flt.Gene, flt.Known)
	if ids, ok := ix.cached(key); ok {
		return ids, false, nil
	}
	for _, a := range act {
		if ix.values[a.facet][a.value] == nil {
			return []uint32{}, false, nil
		}
	}
	// Read the smallest list first so an empty intersection stops early.
	sort.Slice(act, func(i, j int) bool {
		return ix.values[act[i].facet][act[i].value].Count < ix.values[act[j].facet][act[j].value].Count
	})
	lists := make([][]uint32, 0, len(act))
	for _, a := range act {
		v := ix.values[a.facet][a.value]
		l, err := ix.postings(ctx, a.facet, v.Start, v.Count)
		if err != nil {
			return nil, false, err
		}
		lists = append(lists, l)
	}
	ids = lists[0]
	for _, l := range lists[1:] {
		ids = intersect(ids, l)
	}
	ix.store(key, ids)
	return ids, false, nil
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

func (ix *Index) cached(key string) ([]uint32, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, e := range ix.cache {
		if e.key == key {
			// move to front
			copy(ix.cache[1:i+1], ix.cache[:i])
			ix.cache[0] = e
			return e.ids, true
		}
	}
	return nil, false
}

func (ix *Index) store(key string, ids []uint32) {
	size := int64(len(ids)) * 4
	if size > maxCacheBytes/2 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.cache = append([]cacheEntry{{key, ids}}, ix.cache...)
	ix.cacheSize += size
	for ix.cacheSize > maxCacheBytes && len(ix.cache) > 1 {
		last := ix.cache[len(ix.cache)-1]
		ix.cache = ix.cache[:len(ix.cache)-1]
		ix.cacheSize -= int64(len(last.ids)) * 4
	}
}

// order returns the selection in the requested sort, ascending, as a list
// of ordinals; for an unfiltered facet sort it returns nil and the caller
// reads the facet's postings directly.
func (ix *Index) order(ctx context.Context, flt Filter, key SortKey) (ids []uint32, all bool, err error) {
	sel, all, err := ix.selection(ctx, flt)
	if err != nil || key == SortPosition || all {
		return sel, all, err
	}
	f := Facet(key)
	// Filtering on the sort facet leaves one value: VCF order is the sort.
	for _, a := range flt.active() {
		if a.facet == f {
			return sel, false, nil
		}
	}
	ck := fmt.Sprintf("ord\x00%s\x00%s\x00%s\x00%s\x00%s", key, flt.Impact, flt.Consequence, flt.Gene, flt.Known)
	if ids, ok := ix.cached(ck); ok {
		return ids, false, nil
	}
	member := make([]uint64, (ix.dict.Records+63)/64)
	for _, id := range sel {
		member[id/64] |= 1 << (id % 64)
	}
	out := make([]uint32, 0, len(sel))
	const chunk = 1 << 16
	for start := int64(0); start < ix.dict.Records && len(out) < len(sel); start += chunk {
		n := min(chunk, ix.dict.Records-start)
		ps, err := ix.postings(ctx, f, start, n)
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

// Query returns one page of the filtered, sorted table.
func (ix *Index) Query(ctx context.Context, q Query) (Page, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return Page{}, fmt.Errorf("%w: negative offset or limit", ErrBadQuery)
	}
	if q.Sort == "" {
		q.Sort = SortPosition
	}
	if _, err := ParseSortKey(string(q.Sort)); err != nil {
		return Page{}, err
	}
	ids, all, err := ix.order(ctx, q.Filter, q.Sort)
	if err != nil {
		return Page{}, err
	}
	total := int64(len(ids))
	if all {
		total = ix.dict.Records
	}
	page := Page{Total: total}
	if q.Offset >= total || q.Limit == 0 {
		return page, nil
	}
	n := min(q.Limit, total-q.Offset)
	// ascending positions [a, a+n) cover the page in either direction.
	a := q.Offset
	if q.Desc {
		a = total - q.Offset - n
	}
	var ords []uint32
	switch {
	case !all:
		ords = slices.Clone(ids[a : a+n])
	case q.Sort == SortPosition:
		ords = make([]uint32, n)
		for i := range ords {
			ords[i] = uint32(a + int64(i))
		}
	default:
		ords, err = ix.postings(ctx, Facet(q.Sort), a, n)
		if err != nil {
			return Page{}, err
		}
	}
	if q.Desc {
		slices.Reverse(ords)
	}
	page.Variants, err = ix.variants(ctx, ords)
	return page, err
}

// Each calls fn with successive batches of the whole selection in sort
// order, for streaming a filtered download.
func (ix *Index) Each(ctx context.Context, flt Filter, key SortKey, desc bool, batch int, fn func([]Variant) error) error {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for off := int64(0); ; off += int64(batch) {
		p, err := ix.Query(ctx, Query{Filter: flt, Sort: key, Desc: desc, Offset: off, Limit: int64(batch)})
		if err != nil {
			return err
		}
		total = p.Total
		if len(p.Variants) > 0 {
			if err := fn(p.Variants); err != nil {
				return err
			}
		}
		if off+int64(batch) >= total {
			return nil
		}
	}
}

// variants reads the records of the given ordinals, coalescing nearby ones
// into single range reads, and returns them in the order given.
func (ix *Index) variants(ctx context.Context, ords []uint32) ([]Variant, error) {
	sorted := slices.Clone(ords)
	slices.Sort(sorted)
	got := make(map[uint32]record, len(sorted))
	const gap = 128 // records; reading up to 4 KiB of unwanted bytes beats another request
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j]-sorted[j-1] <= gap {
			j++
		}
		first, last := int64(sorted[i]), int64(sorted[j-1])
		b, err := readRange(ctx, ix.src, headerSize+first*recordSize, (last-first+1)*recordSize)
		if err != nil {
			return nil, fmt.Errorf("read variant records: %w", err)
		}
		for _, o := range sorted[i:j] {
			at := (int64(o) - first) * recordSize
			got[o] = getRecord(b[at : at+recordSize])
		}
		i = j
	}
	out := make([]Variant, len(ords))
	for i, o := range ords {
		r := got[o]
		out[i] = Variant{
			Ordinal: int64(o), Offset: int64(r.offset), Length: int(r.length),
			Chrom: ix.name(ix.dict.Chroms, uint32(r.chrom)), Pos: int64(r.pos), Allele: int(r.allele),
			Impact: r.impact, Consequence: ix.name(ix.dict.Consequences, uint32(r.consequence)),
			Gene: ix.name(ix.dict.Genes, r.gene), Known: r.known,
		}
	}
	return out, nil
}

func (ix *Index) name(names []string, code uint32) string {
	if int(code) < len(names) {
		return names[code]
	}
	return ""
}

// Row is a variant with the columns read back from its VCF line.
type Row struct {
	Variant
	ID, Ref, Alt string
	Feature      string // transcript of the chosen annotation
	Biotype      string
	HGVSc, HGVSp string
	Line         string // the whole VCF line, for subset exports
}

// ReadRows reads the VCF lines of variants from the result (coalescing
// nearby lines into one range read) and fills in the displayed columns.
func ReadRows(ctx context.Context, vcf Ranger, vs []Variant) ([]Row, error) {
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return vs[idx[a]].Offset < vs[idx[b]].Offset })
	lines := make([]string, len(vs))
	const gap, maxRun = 16 << 10, 4 << 20
	for i := 0; i < len(idx); {
		start := vs[idx[i]].Offset
		end := start + int64(vs[idx[i]].Length)
		j := i + 1
		for j < len(idx) {
			v := vs[idx[j]]
			if v.Offset-end > gap || v.Offset+int64(v.Length)-start > maxRun {
				break
			}
			end = max(end, v.Offset+int64(v.Length))
			j++
		}
		b, err := readRange(ctx, vcf, start, end-start)
		if err != nil {
			return nil, fmt.Errorf("read variant lines: %w", err)
		}
		for _, k := range idx[i:j] {
			at := vs[k].Offset - start
			lines[k] = string(b[at : at+int64(vs[k].Length)])
		}
		i = j
	}
	rows := make([]Row, len(vs))
	for i, v := range vs {
		rows[i] = parseRow(v, lines[i])
	}
	return rows, nil
}

// parseRow fills a Row from its VCF line; malformed lines leave columns empty.
func parseRow(v Variant, line string) Row {
	r := Row{Variant: v, Line: line}
	cols := bytes.SplitN([]byte(line), tab, 9)
	if len(cols) < 5 {
		return r
	}
	r.ID, r.Ref = string(cols[2]), string(cols[3])
	alts := bytes.Split(cols[4], []byte{','})
	if v.Allele < len(alts) {
		r.Alt = string(alts[v.Allele])
	}
	if len(cols) < 8 {
		return r
	}
	ann := infoValue(cols[7], annKey)
	single := len(alts) == 1
	var bestImpact Impact
	found := false
	for _, e := range bytes.Split(ann, []byte{','}) {
		f := bytes.Split(e, []byte{'|'})
		if len(f) < 3 || (!single && string(f[0]) != r.Alt) {
			continue
		}
		imp := ParseImpact(string(f[2]))
		if found && imp <= bestImpact {
			continue
		}
		found, bestImpact = true, imp
		get := func(i int) string {
			if i < len(f) {
				return string(f[i])
			}
			return ""
		}
		r.Feature, r.Biotype, r.HGVSc, r.HGVSp = get(6), get(7), get(9), get(10)
	}
	return r
}
