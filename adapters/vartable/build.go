package vartable

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// BuildOptions tune a Builder.
type BuildOptions struct {
	// TempDir is where a large index spills its sorted runs ("": the
	// system's temporary directory).
	TempDir string
	// ChunkRows is how many rows are kept in memory before they are sorted
	// and spilled (default 1<<19, about 20 MB); a multiple of 64.
	ChunkRows int
}

// Builder writes the variant index of an annotated VCF from the rows the
// annotator hands over as it writes the VCF (it is the engine's Sink), so
// nothing parses the VCF again. The index streams out front to back:
// records as rows arrive, then the allele-start bitmap, the facets'
// postings and the dictionary. Memory is bounded whatever the result's
// size: rows wait in a chunk of ChunkRows; a full chunk is sorted by every
// facet into a run spilled to a temporary file, and the runs are
// concatenated value by value at the end (each run's ordinals follow the
// previous run's, so that is the sorted order). A result that fits one
// chunk never touches the disk.
type Builder struct {
	out     *countingWriter
	opt     BuildOptions
	voc     *Vocabulary
	header  int64
	started bool

	chroms codes
	// genes codes the gene names rows have, "" (no gene) first, as they
	// first appear: the dictionary keeps those only, not the reference's
	// tens of thousands. geneCode maps a Vocabulary.Genes index to its
	// code (0: not seen yet).
	genes    codes
	geneCode []uint32
	facets   []*facet

	rows, alleles int64
	lastOffset    int64
	lastAllele    int
	blocks        []int64
	chunk         chunk
	chunkAlleles  int64 // alleles started before the chunk's first row
	runs          []*run
	spill         *spillFile
	recBuf        [recordSize]byte
}

// chunk columns: one uint32 per row each.
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

type chunk struct {
	rows  [][numCols]uint32 // per row, its code in every column
	first []uint64          // allele-start bits
	n     int
}

// spareRows keeps a few chunk buffers between indexes: a server indexing
// job after job would otherwise grow (and the collector reclaim) a fresh
// one of up to 16 MiB for each. Not a sync.Pool: the collections a large
// job triggers would empty one before the next job. Bounded, so at most
// two buffers outlive their jobs.
var spareRows = make(chan [][numCols]uint32, 2)

// chunkBuffer is a spare chunk buffer, or none when there is no spare.
func chunkBuffer() [][numCols]uint32 {
	select {
	case rows := <-spareRows:
		return rows[:0]
	default:
		return nil
	}
}

// keepChunkBuffer keeps rows for the next index if there is room.
func keepChunkBuffer(rows [][numCols]uint32) {
	select {
	case spareRows <- rows:
	default:
	}
}

// facet is one facet's definition and running totals.
type facet struct {
	name          Facet
	col           int
	multi         bool
	names         []string // per code
	order         []uint32 // codes in sort order
	rows, alleles []int64  // per code; alleles nil when not counted
	last          []int64  // per code: the last allele counted
}

// codes assigns dense first-seen codes to names.
type codes struct {
	names []string
	index map[string]uint32
}

func (c *codes) code(name []byte) uint32 {
	if v, ok := c.index[string(name)]; ok {
		return v
	}
	if c.index == nil {
		c.index = map[string]uint32{}
	}
	s := string(name)
	v := uint32(len(c.names))
	c.names = append(c.names, s)
	c.index[s] = v
	return v
}

type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewBuilder starts an index written to w.
func NewBuilder(w io.Writer, opt BuildOptions) *Builder {
	if opt.ChunkRows <= 0 {
		opt.ChunkRows = 1 << 19
	}
	opt.ChunkRows = (opt.ChunkRows + 63) &^ 63
	return &Builder{out: &countingWriter{w: bufio.NewWriterSize(w, 64<<10)}, opt: opt, lastOffset: -1}
}

var _ Sink = (*Builder)(nil)

// Start takes the vocabulary and the VCF header's length, and writes the
// index header.
func (b *Builder) Start(v *Vocabulary, header int64) error {
	if b.started {
		return errors.New("variant index already started")
	}
	if v == nil || len(v.Terms) > 32 || len(v.Warnings) > 32 {
		return errors.New("variant index: a vocabulary of at most 32 terms and 32 warnings is required")
	}
	b.started, b.voc, b.header = true, v, header
	b.chunk.rows = chunkBuffer()
	b.genes.code(nil) // "" is code 0: no gene
	b.geneCode = make([]uint32, len(v.Genes))
	b.facets = b.defineFacets()
	if _, err := io.WriteString(b.out, headerMagic); err != nil {
		return fmt.Errorf("write index header: %w", err)
	}
	return nil
}

// byName orders codes by their names, alphabetically with "" last. Names
// are distinct, so codes given later fall into the same order.
func byName(names []string) []uint32 {
	o := make([]uint32, len(names))
	for i := range o {
		o[i] = uint32(i)
	}
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

// defineFacets lists the facets in file order with their value orders:
// impact most severe first, consequences by severity, genes and warnings
// alphabetically (no gene last), known before novel.
func (b *Builder) defineFacets() []*facet {
	ascending := func(n int) []uint32 {
		o := make([]uint32, n)
		for i := range o {
			o[i] = uint32(i)
		}
		return o
	}
	af := make([]string, afCodes)
	consOrder := append(slices.Clone(b.voc.Terms), "")
	fs := []*facet{
		{name: FacetImpact, col: colImpact, names: impactNames[:], order: []uint32{4, 3, 2, 1, 0}},
		{name: FacetConsequence, col: colTerms, multi: true, names: b.voc.Terms, order: ascending(len(b.voc.Terms))},
		{name: FacetGene, col: colGene, names: b.genes.names, order: byName(b.genes.names)},
		{name: FacetKnown, col: colKnown, names: []string{Novel, Known}, order: []uint32{1, 0}},
		{name: FacetTranscript, col: colTags, multi: true, names: []string{Canonical, MANESelect}, order: []uint32{0, 1}},
		{name: FacetWarning, col: colWarn, multi: true, names: b.voc.Warnings, order: byName(b.voc.Warnings)},
		{name: facetConsOrder, col: colConsOrder, names: consOrder, order: ascending(len(consOrder))},
		{name: facetAF, col: colAF, names: af, order: ascending(afCodes)},
	}
	for _, f := range fs {
		f.rows = make([]int64, len(f.names))
		if f.name != facetConsOrder && f.name != facetAF {
			f.alleles = make([]int64, len(f.names))
			f.last = make([]int64, len(f.names))
			for i := range f.last {
				f.last[i] = -1
			}
		}
	}
	return fs
}

// Lines indexes written lines: one row per entry, in the order given.
func (b *Builder) Lines(lines []Line, entries []Entry) error {
	if !b.started {
		return errors.New("variant index: Lines before Start")
	}
	for _, l := range lines {
		es := entries[:l.Entries]
		entries = entries[l.Entries:]
		if len(es) == 0 {
			continue
		}
		if l.Pos < 0 || l.Pos > math.MaxUint32 || l.Length > math.MaxUint32 {
			return fmt.Errorf("variant index: line at %d: position %d or length %d out of range", l.Offset, l.Pos, l.Length)
		}
		if last := es[len(es)-1]; last.Ann > MaxLineRows || last.Allele > MaxLineRows {
			return fmt.Errorf("%w: the line at %s:%d has %d annotations of %d ALT alleles; the table takes %d of each",
				ErrLineTooLarge, l.Chrom, l.Pos, last.Ann+1, last.Allele+1, MaxLineRows)
		}
		chrom := b.chroms.code(l.Chrom)
		if chrom > math.MaxUint16 {
			return errors.New("variant index: more than 65535 chromosomes")
		}
		for i := range es {
			if err := b.add(&l, uint16(chrom), &es[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// add writes one row's record and keeps its codes in the chunk.
func (b *Builder) add(l *Line, chrom uint16, e *Entry) error {
	if b.rows >= math.MaxUint32 {
		return fmt.Errorf("variant index: more than %d rows", uint64(math.MaxUint32))
	}
	if b.rows%blockRows == 0 {
		b.blocks = append(b.blocks, b.alleles)
	}
	first := l.Offset != b.lastOffset || int(e.Allele) != b.lastAllele
	b.lastOffset, b.lastAllele = l.Offset, int(e.Allele)
	gene := uint32(0)
	if e.Gene >= 0 && int(e.Gene) < len(b.geneCode) {
		if gene = b.geneCode[e.Gene]; gene == 0 {
			gene = b.genes.code([]byte(b.voc.Genes[e.Gene]))
			b.geneCode[e.Gene] = gene
		}
	}
	r := record{offset: uint64(l.Offset), length: uint32(l.Length), pos: uint32(l.Pos), chrom: chrom,
		allele: uint16(e.Allele), ann: uint16(e.Ann), impact: e.Impact, terms: e.Terms, gene: gene, warn: e.Warn, af: e.AF}
	if e.Known {
		r.flags |= flagKnown
	}
	if e.Tags&TagCanonical != 0 {
		r.flags |= flagCanonical
	}
	if e.Tags&TagMANESelect != 0 {
		r.flags |= flagMANE
	}
	c := &b.chunk
	if first {
		r.flags |= flagFirst
		b.alleles++
		if c.n/64 >= len(c.first) {
			c.first = append(c.first, make([]uint64, c.n/64+1-len(c.first))...)
		}
		c.first[c.n/64] |= 1 << (c.n % 64)
	}
	r.put(b.recBuf[:])
	if _, err := b.out.Write(b.recBuf[:]); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	b.rows++
	known := uint32(0)
	if e.Known {
		known = 1
	}
	consOrder := uint32(len(b.voc.Terms))
	if e.Terms != 0 {
		consOrder = uint32(bits.TrailingZeros32(e.Terms))
	}
	if len(c.rows) == cap(c.rows) {
		// Doubling, to the chunk's size at most: append grows a large
		// slice by a quarter at a time, copying it over and over.
		c.rows = slices.Grow(c.rows, min(max(2*cap(c.rows), 1<<10), b.opt.ChunkRows)-len(c.rows))
	}
	c.rows = append(c.rows, [numCols]uint32{uint32(min(e.Impact, ImpactHigh)), e.Terms, gene, known, uint32(e.Tags & 3), e.Warn, consOrder, afCode(e.AF)})
	c.n++
	if c.n == b.opt.ChunkRows {
		return b.flush(false)
	}
	return nil
}

// flush sorts the chunk into a run: spilled to the temporary file, or kept
// in memory when it is the last one.
func (b *Builder) flush(last bool) error {
	b.syncGenes()
	c := &b.chunk
	words := (c.n + 63) / 64
	c.first = append(c.first, make([]uint64, max(0, words-len(c.first)))...)[:words]
	r := &run{rows: c.n, first: c.first, facets: make([]runFacet, len(b.facets))}
	start := b.rows - int64(c.n)
	for i, f := range b.facets {
		r.facets[i] = f.sortChunk(c, start, b.chunkAlleles)
	}
	b.chunkAlleles = b.alleles
	if !last {
		if b.spill == nil {
			sp, err := newSpill(b.opt.TempDir)
			if err != nil {
				return err
			}
			b.spill = sp
		}
		if err := b.spill.write(r); err != nil {
			return err
		}
	}
	b.runs = append(b.runs, r)
	c.rows = c.rows[:0]
	if !last {
		c.first = make([]uint64, 0, len(c.first))
	}
	c.n = 0
	return nil
}

// syncGenes brings the gene facet up to the genes seen so far: their
// names, per-code totals and order.
func (b *Builder) syncGenes() {
	f := b.facets[slices.IndexFunc(b.facets, func(f *facet) bool { return f.name == FacetGene })]
	n := len(b.genes.names)
	if len(f.names) == n {
		return
	}
	for len(f.rows) < n {
		f.rows, f.alleles, f.last = append(f.rows, 0), append(f.alleles, 0), append(f.last, -1)
	}
	f.names, f.order = b.genes.names, byName(b.genes.names)
}

// sortChunk counts the chunk's codes (rows and alleles) into the facet's
// totals and returns the chunk's postings: ordinals grouped by code in
// the facet's order, ascending within a code.
func (f *facet) sortChunk(c *chunk, start, alleleBase int64) runFacet {
	counts := make([]uint32, len(f.names))
	id := alleleBase - 1
	note := func(code uint32) {
		counts[code]++
		if f.alleles != nil && f.last[code] != id {
			f.last[code] = id
			f.alleles[code]++
		}
	}
	for i := range c.rows {
		v := c.rows[i][f.col]
		if c.first[i/64]&(1<<(i%64)) != 0 {
			id++
		}
		if !f.multi {
			note(v)
			continue
		}
		for x := v; x != 0; x &= x - 1 {
			note(uint32(bits.TrailingZeros32(x)))
		}
	}
	next := make([]uint32, len(f.names))
	var total uint32
	for _, code := range f.order {
		next[code] = total
		total += counts[code]
		f.rows[code] += int64(counts[code])
	}
	perm := make([]uint32, total)
	for i := range c.rows {
		v := c.rows[i][f.col]
		o := uint32(start) + uint32(i)
		if !f.multi {
			perm[next[v]] = o
			next[v]++
			continue
		}
		for x := v; x != 0; x &= x - 1 {
			code := bits.TrailingZeros32(x)
			perm[next[code]] = o
			next[code]++
		}
	}
	return runFacet{counts: counts, mem: perm}
}

// Finish writes the bitmap, the postings, the dictionary and the footer
// (an empty index when nothing was started). The index is complete only
// when it returns nil.
func (b *Builder) Finish() error {
	if !b.started {
		if err := b.Start(&Vocabulary{}, 0); err != nil {
			return err
		}
	}
	if err := b.flush(true); err != nil {
		return err
	}
	dict := dictionary{Version: version, Rows: b.rows, Alleles: b.alleles, Header: b.header,
		Chroms: orEmpty(b.chroms.names), Terms: b.voc.Terms, Warnings: b.voc.Warnings, Genes: b.genes.names,
		AlleleBlocks: orEmptyInts(b.blocks), Bitmap: b.out.n}
	if err := b.writeBitmap(); err != nil {
		return err
	}
	for i, f := range b.facets {
		entry := facetEntry{Name: f.name, Offset: b.out.n, Values: f.values()}
		if err := b.writePostings(i, f); err != nil {
			return fmt.Errorf("write %s postings: %w", f.name, err)
		}
		dict.Facets = append(dict.Facets, entry)
	}
	return b.writeDictionary(dict)
}

// values lists the facet's non-empty values in order with their counts
// and posting starts.
func (f *facet) values() []valueEntry {
	out := []valueEntry{}
	var start int64
	for _, code := range f.order {
		if f.rows[code] == 0 {
			continue
		}
		v := valueEntry{Value: f.names[code], Code: code, Start: start, Count: f.rows[code]}
		if f.alleles != nil {
			v.Alleles = f.alleles[code]
		}
		out = append(out, v)
		start += f.rows[code]
	}
	return out
}

func (b *Builder) writeBitmap() error {
	var buf [8]byte
	for _, r := range b.runs {
		words, err := b.spill.bitmap(r)
		if err != nil {
			return err
		}
		for _, w := range words[:(r.rows+63)/64] {
			binary.LittleEndian.PutUint64(buf[:], w)
			if _, err := b.out.Write(buf[:]); err != nil {
				return fmt.Errorf("write allele bitmap: %w", err)
			}
		}
	}
	return nil
}

// writePostings writes facet i's postings: for each value in order, its
// ordinals from every run in turn.
func (b *Builder) writePostings(i int, f *facet) error {
	readers, err := b.spill.readers(b.runs, i)
	if err != nil {
		return err
	}
	var buf [4096]byte
	for _, code := range f.order {
		for k, r := range b.runs {
			n := 0
			if counts := r.facets[i].counts; int(code) < len(counts) { // a gene first seen after the run
				n = int(counts[code])
			}
			for n > 0 {
				m := min(n, len(buf)/postingSize)
				if err := readers[k].next(buf[:m*postingSize]); err != nil {
					return err
				}
				if _, err := b.out.Write(buf[:m*postingSize]); err != nil {
					return err
				}
				n -= m
			}
		}
	}
	return nil
}

func (b *Builder) writeDictionary(dict dictionary) error {
	js, err := json.Marshal(dict)
	if err != nil {
		return fmt.Errorf("encode index dictionary: %w", err)
	}
	at := b.out.n
	if _, err := b.out.Write(js); err != nil {
		return fmt.Errorf("write index dictionary: %w", err)
	}
	var foot [footerSize]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(at))
	binary.LittleEndian.PutUint64(foot[8:], uint64(len(js)))
	copy(foot[16:], footerMagic)
	if _, err := b.out.Write(foot[:]); err != nil {
		return fmt.Errorf("write index footer: %w", err)
	}
	if err := b.out.w.Flush(); err != nil {
		return fmt.Errorf("flush index: %w", err)
	}
	return nil
}

// Close removes the temporary file, if any; call it whether or not
// Finish succeeded.
func (b *Builder) Close() error {
	if rows := b.chunk.rows; cap(rows) > 0 {
		keepChunkBuffer(rows)
	}
	b.chunk.rows = nil
	if b.spill == nil {
		return nil
	}
	err := b.spill.close()
	b.spill = nil
	return err
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}
