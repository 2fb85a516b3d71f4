package vartable

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
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

// Variant is one row of the table: where its line is in the result VCF
// and the columns the table filters and sorts on.
type Variant struct {
	Ordinal     int64 // position in table order (VCF order, each allele's rows most severe first), 0-based
	Offset      int64 // byte offset of the VCF line
	Length      int   // line length without the newline
	Chrom       string
	Pos         int64
	Allele      int // index into ALT
	Entry       int // index of the row's entry in the line's ANN list
	Impact      Impact
	Consequence string   // the row's most severe term
	Terms       []string // all its terms, most severe first
	Gene        string
	Known       bool
	AF          float64 // KNOWN_AF when HasAF
	HasAF       bool
	Canonical   bool
	MANESelect  bool
	Warnings    []string
	// First marks the allele's most severe row (the one the
	// one-row-per-allele view shows when no filter is set).
	First bool
}

// ValueCount is one facet value with the rows it has and the rows the
// one-row-per-allele view shows for it (alleles with such a row), for
// filter menus.
type ValueCount struct {
	Value   string
	Count   int64 // rows
	Alleles int64 // rows of the one-row-per-allele view
}

// In is the count in the view: alleles when mostSevere, else rows.
func (v ValueCount) In(mostSevere bool) int64 {
	if mostSevere {
		return v.Alleles
	}
	return v.Count
}

// Index is an opened variant index. It keeps only the dictionary and a few
// recent selections in memory, so it is cheap to cache per result; it is
// safe for concurrent use.
type Index struct {
	src    Ranger
	dict   dictionary
	lay    *layout
	facets map[Facet]*facetEntry
	values map[Facet]map[string]*valueEntry

	mu        sync.Mutex
	cache     []cacheEntry
	cacheSize int64
	// tables are the runs' block tables read so far (format 4), under mu.
	tables map[int64][]uint32
}

type cacheEntry struct {
	key string
	ids []uint32
}

// maxCacheBytes bounds the selections one Index keeps.
const maxCacheBytes = 16 << 20

var facetOrder = []Facet{FacetImpact, FacetConsequence, FacetGene, FacetKnown, FacetTranscript, FacetWarning, facetConsOrder, facetAF}

// Open reads the footer and dictionary of an index of size bytes.
func Open(ctx context.Context, src Ranger, size int64) (*Index, error) {
	if size < headerSize+footerSize {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrCorrupt, size)
	}
	foot, err := readRange(ctx, src, size-footerSize, footerSize)
	if err != nil {
		return nil, fmt.Errorf("open variant index: %w", err)
	}
	want := 0
	switch string(foot[16:]) {
	case magics[4].footer:
		want = 4
	case magics[3].footer:
		want = 3
	case v2Magic:
		want = 2
	case oldMagic:
		return nil, ErrOldFormat
	default:
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
	if ix.dict.Version != want {
		return nil, fmt.Errorf("%w: dictionary of version %d in a file of version %d", ErrCorrupt, ix.dict.Version, want)
	}
	if err := ix.check(); err != nil {
		return nil, err
	}
	if ix.lay, err = newLayout(&ix.dict, dOff); err != nil {
		return nil, err
	}
	return ix, nil
}

// check validates the dictionary's counts (newLayout its regions), so a
// damaged index fails here rather than with wrong rows.
func (ix *Index) check() error {
	d := &ix.dict
	if d.Rows < 0 || d.Rows > math.MaxUint32 || int64(len(d.AlleleBlocks)) != (d.Rows+blockRows-1)/blockRows || len(d.Terms) > 32 || len(d.Warnings) > 32 {
		return fmt.Errorf("%w: dictionary describes %d rows", ErrCorrupt, d.Rows)
	}
	for i := range d.Facets {
		f := &d.Facets[i]
		ix.facets[f.Name] = f
		m := map[string]*valueEntry{}
		var sum int64
		for j := range f.Values {
			v := &f.Values[j]
			if v.Start != sum || v.Count < 0 {
				return fmt.Errorf("%w: facet %s value %q", ErrCorrupt, f.Name, v.Value)
			}
			m[v.Value] = v
			sum += v.Count
		}
		ix.values[f.Name] = m
	}
	for _, f := range facetOrder {
		if ix.facets[f] == nil {
			return fmt.Errorf("%w: facet %s missing", ErrCorrupt, f)
		}
	}
	return nil
}

// Len is the number of rows.
func (ix *Index) Len() int64 { return ix.dict.Rows }

// Alleles is the number of ALT alleles (rows of the one-row-per-allele view).
func (ix *Index) Alleles() int64 { return ix.dict.Alleles }

// Values lists a menu facet's values in its order with their counts (the
// empty value, rows without a gene, is reported as "").
func (ix *Index) Values(f Facet) []ValueCount {
	fe := ix.facets[f]
	if fe == nil || f == facetAF || f == facetConsOrder {
		return nil
	}
	out := make([]ValueCount, len(fe.Values))
	for i, v := range fe.Values {
		out[i] = ValueCount{v.Value, v.Count, v.Alleles}
	}
	return out
}

// postings reads count posting ordinals of facet f from index start (in
// table order): one range read per run they are in, side by side.
func (ix *Index) postings(ctx context.Context, f Facet, start, count int64) ([]uint32, error) {
	pieces := ix.lay.ranges(f, start, count)
	spans, err := ix.readSpans(ctx, pieces, postingSize)
	if err != nil {
		return nil, fmt.Errorf("read %s postings: %w", f, err)
	}
	out := make([]uint32, 0, count)
	for _, p := range pieces {
		if p.at < 0 { // a range of ordinals, listed nowhere
			for o := range p.n {
				out = append(out, uint32(p.ord+o))
			}
			continue
		}
		sp := spans[p.run]
		b := sp.b[p.at-sp.at:]
		for i := range p.n {
			o := binary.LittleEndian.Uint32(b[i*postingSize:])
			if int64(o) >= ix.dict.Rows {
				return nil, fmt.Errorf("%w: %s posting %d of %d rows", ErrCorrupt, f, o, ix.dict.Rows)
			}
			out = append(out, o)
		}
	}
	if int64(len(out)) != count {
		return nil, fmt.Errorf("%w: %s postings %d+%d past the facet's end", ErrCorrupt, f, start, count)
	}
	return out, nil
}

// span is the bytes of one run's pieces, from at.
type span struct {
	at, end int64
	b       []byte
}

// maxReads bounds the range reads one query has in flight.
const maxReads = 8

// readSpans reads, per run, the one range that holds its pieces (of
// items of size bytes), at most maxReads at a time.
func (ix *Index) readSpans(ctx context.Context, pieces []piece, size int64) (map[int]*span, error) {
	spans := map[int]*span{}
	for _, p := range pieces {
		if p.at < 0 {
			continue // not stored
		}
		sp := spans[p.run]
		if sp == nil {
			sp = &span{at: p.at, end: p.at}
			spans[p.run] = sp
		}
		sp.at, sp.end = min(sp.at, p.at), max(sp.end, p.at+p.n*size)
	}
	read := func(sp *span) (err error) {
		sp.b, err = readRange(ctx, ix.src, sp.at, sp.end-sp.at)
		return err
	}
	if len(spans) == 1 { // one run: no goroutine
		for _, sp := range spans {
			return spans, read(sp)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(spans))
	slots := make(chan struct{}, maxReads)
	for _, sp := range spans {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := read(sp); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return spans, <-errs
}

func (ix *Index) cached(key string) ([]uint32, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, e := range ix.cache {
		if e.key == key {
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

// records reads the records of the given ordinals (ascending), coalescing
// nearby ones of a run into single range reads.
func (ix *Index) records(ctx context.Context, sorted []uint32) (map[uint32]record, error) {
	if ix.dict.Version >= 4 {
		return ix.blockRecords(ctx, sorted)
	}
	got := make(map[uint32]record, len(sorted))
	const gap = 128 // records; reading a few KiB of unwanted bytes beats another request
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j]-sorted[j-1] <= gap && ix.lay.sameRun(int64(sorted[i]), int64(sorted[j])) {
			j++
		}
		first, last := int64(sorted[i]), int64(sorted[j-1])
		b, err := readRange(ctx, ix.src, ix.lay.record(first), (last-first+1)*recordSize)
		if err != nil {
			return nil, fmt.Errorf("read variant records: %w", err)
		}
		for _, o := range sorted[i:j] {
			at := (int64(o) - first) * recordSize
			got[o] = getRecord(b[at : at+recordSize])
		}
		i = j
	}
	return got, nil
}

// variants reads the rows of the given ordinals, in the order given.
func (ix *Index) variants(ctx context.Context, ords []uint32) ([]Variant, error) {
	sorted := slices.Clone(ords)
	slices.Sort(sorted)
	got, err := ix.records(ctx, slices.Compact(sorted))
	if err != nil {
		return nil, err
	}
	out := make([]Variant, len(ords))
	for i, o := range ords {
		out[i] = ix.variant(int64(o), got[o])
	}
	return out, nil
}

func (ix *Index) variant(ord int64, r record) Variant {
	d := &ix.dict
	v := Variant{Ordinal: ord, Offset: int64(r.offset), Length: int(r.length), Chrom: name(d.Chroms, uint32(r.chrom)),
		Pos: int64(r.pos), Allele: int(r.allele), Entry: int(r.ann), Impact: r.impact, Terms: names(d.Terms, r.terms),
		Known: r.flags&flagKnown != 0, Canonical: r.flags&flagCanonical != 0, MANESelect: r.flags&flagMANE != 0,
		Warnings: names(d.Warnings, r.warn), First: r.flags&flagFirst != 0}
	if len(v.Terms) > 0 {
		v.Consequence = v.Terms[0]
	}
	if r.gene > 0 {
		v.Gene = name(d.Genes, r.gene)
	}
	if r.af == r.af {
		v.AF, v.HasAF = float64(r.af), true
	}
	return v
}

func name(names []string, code uint32) string {
	if int(code) < len(names) {
		return names[code]
	}
	return ""
}

// names lists the names of a bit set's bits, lowest bit first.
func names(all []string, set uint32) []string {
	if set == 0 {
		return nil
	}
	out := make([]string, 0, bits.OnesCount32(set))
	for x := set; x != 0; x &= x - 1 {
		out = append(out, name(all, uint32(bits.TrailingZeros32(x))))
	}
	return out
}
