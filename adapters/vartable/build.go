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
)

// BuildOptions tune a Builder.
type BuildOptions struct {
	// ChunkRows is how many rows are kept in memory before they are sorted
	// and written as a run (default 1<<19: 10 MB of codes, and the
	// postings of the facet being sorted); a multiple of 64.
	ChunkRows int
	// format is the file format written: 4, or 3 to test that older
	// indexes are still read.
	format int
}

// Builder writes the variant index of an annotated VCF from the rows the
// annotator hands over as it writes the VCF (it is the engine's Sink), so
// nothing parses the VCF again. The index streams out front to back, a
// run at a time: records as rows arrive; when ChunkRows rows have come
// (or at Finish), their allele-start bitmap and their postings sorted by
// every facet; at the end the dictionary. Memory is bounded whatever the
// result's size (one chunk of codes), nothing is written twice, and
// Finish has only the last run's postings left to sort and write while
// the VCF's upload ends.
type Builder struct {
	out     *countingWriter
	opt     BuildOptions
	voc     *Vocabulary
	header  int64
	started bool
	// termBits and warnBits are the Entry bits the vocabulary names.
	termBits, warnBits uint32

	chroms codes
	// genes codes the gene names rows have, "" (no gene) first, as they
	// first appear: the dictionary keeps those only, not the reference's
	// tens of thousands. geneCode maps a Vocabulary.Genes index to its
	// code (0: not seen yet).
	genes    codes
	geneCode []uint32
	facets   [numCols]facet

	rows, alleles int64
	lastOffset    int64
	lastAllele    int
	blocks        []int64
	chunk         *chunk
	runs          []run
	// runAt is where the chunk's first record goes.
	runAt int64
	// recs are records not yet written: encoded in place, handed on
	// maxPiece at a time.
	recs []byte
	// blocks4 is where each block of the chunk's rows starts in its
	// records (format 4), runBytes how many bytes of records the chunk
	// has so far; enc encodes each row against the one before.
	blocks4  []uint32
	runBytes int64
	enc      rowEncoder
}

// run is one chunk of rows once written, for the dictionary: where its
// regions went, its rows per code of every facet, and per facet the codes
// whose rows are consecutive ordinals from a first (not listed).
type run struct {
	at     runEntry
	counts [][]uint32
	firsts []map[uint32]int64
}

// maxPiece bounds what one write hands on: the stream the index goes to
// queues each write as a chunk.
const maxPiece = 64 << 10

// codes assigns dense first-seen codes to names.
type codes struct {
	names []string
	index map[string]uint32
	last  uint32 // the code last given: lines come chromosome by chromosome
}

func (c *codes) code(name []byte) uint32 {
	if int(c.last) < len(c.names) && c.names[c.last] == string(name) {
		return c.last
	}
	if v, ok := c.index[string(name)]; ok {
		c.last = v
		return v
	}
	if c.index == nil {
		c.index = map[string]uint32{}
	}
	s := string(name)
	v := uint32(len(c.names))
	c.names = append(c.names, s)
	c.index[s] = v
	c.last = v
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
	if opt.format == 0 {
		opt.format = version
	}
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
	b.termBits, b.warnBits = uint32(1<<len(v.Terms)-1), uint32(1<<len(v.Warnings)-1)
	b.chunk = newChunk()
	b.recs = make([]byte, 0, maxPiece/recordSize*recordSize)
	b.genes.code(nil) // "" is code 0: no gene
	b.geneCode = make([]uint32, len(v.Genes))
	b.facets = b.defineFacets()
	if _, err := io.WriteString(b.out, magics[b.opt.format].header); err != nil {
		return fmt.Errorf("write index header: %w", err)
	}
	return nil
}

// Lines indexes written lines: one row per entry, in the order given.
func (b *Builder) Lines(lines []Line, entries []Entry) error {
	if !b.started {
		return errors.New("variant index: Lines before Start")
	}
	for li := range lines {
		l := &lines[li]
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
			if err := b.add(l, uint16(chrom), &es[i]); err != nil {
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
	if e.Terms&^b.termBits != 0 || e.Warn&^b.warnBits != 0 {
		return fmt.Errorf("variant index: line at %d: terms %#x or warnings %#x outside the vocabulary", l.Offset, e.Terms, e.Warn)
	}
	if b.rows%blockRows == 0 {
		b.blocks = append(b.blocks, b.alleles)
	}
	if b.chunk.n == 0 {
		b.runAt = b.out.n + int64(len(b.recs))
	}
	first := l.Offset != b.lastOffset || int(e.Allele) != b.lastAllele
	b.lastOffset, b.lastAllele = l.Offset, int(e.Allele)
	if first {
		b.alleles++
	}
	gene := uint32(0) // none
	if uint32(e.Gene) < uint32(len(b.geneCode)) {
		if gene = b.geneCode[e.Gene]; gene == 0 {
			gene = b.newGene(e.Gene)
		}
	}
	if cap(b.recs)-len(b.recs) < maxRowBytes {
		if err := b.writeRecords(); err != nil {
			return err
		}
	}
	if err := b.putRow(l, chrom, e, gene, rowFlags(e, first)); err != nil {
		return err
	}
	b.rows++
	b.keep(e, gene, first)
	if b.chunk.n == b.opt.ChunkRows {
		return b.flush(false)
	}
	return nil
}

// putRow encodes a row's record after those pending: 40 bytes in format
// 3, a row of its block in format 4.
func (b *Builder) putRow(l *Line, chrom uint16, e *Entry, gene uint32, flags uint8) error {
	n := len(b.recs)
	if b.opt.format == 3 {
		b.recs = b.recs[:n+recordSize]
		putRecord(b.recs[n:], l, chrom, e, gene, flags)
		return nil
	}
	if b.chunk.n%rowBlock == 0 {
		b.blocks4 = append(b.blocks4, uint32(b.runBytes))
		b.enc.restart()
	}
	r := b.enc.next()
	r.offset, r.length, r.pos, r.chrom = uint64(l.Offset), uint32(l.Length), uint32(l.Pos), chrom
	r.allele, r.ann, r.impact, r.flags = uint16(e.Allele), uint16(e.Ann), e.Impact, flags
	r.terms, r.gene, r.warn, r.af = e.Terms, gene, e.Warn, e.AF
	b.recs = b.enc.appendRow(b.recs)
	b.runBytes += int64(len(b.recs) - n)
	if b.runBytes > math.MaxUint32 {
		return errors.New("variant index: a run's rows take more than 4 GiB")
	}
	return nil
}

// newGene gives a code to gene i of the Vocabulary as a row first names
// it.
func (b *Builder) newGene(i int32) uint32 {
	code := b.genes.code([]byte(b.voc.Genes[i]))
	b.geneCode[i] = code
	b.facets[colGene].grow(len(b.genes.names))
	return code
}

// rowFlags are a row's record flags.
func rowFlags(e *Entry, first bool) uint8 {
	flags := uint8(e.Tags&3) * flagCanonical // TagCanonical, TagMANESelect as flagCanonical, flagMANE
	if e.Known {
		flags |= flagKnown
	}
	if first {
		flags |= flagFirst
	}
	return flags
}

// keep puts a row's codes in the chunk and counts them.
func (b *Builder) keep(e *Entry, gene uint32, first bool) {
	c := b.chunk
	if c.n == len(c.wide[colTerms]) {
		c.grow(b.opt.ChunkRows)
	}
	i := c.n
	if first {
		c.first[i/64] |= 1 << (i % 64)
	}
	impact, known, tags, af := uint32(min(e.Impact, ImpactHigh)), uint32(0), uint32(e.Tags&3), afCode(e.AF)
	if e.Known {
		known = 1
	}
	consOrder := uint32(len(b.voc.Terms))
	if e.Terms != 0 {
		consOrder = uint32(bits.TrailingZeros32(e.Terms))
	}
	c.small[colImpact][i] = uint8(impact)
	c.small[colKnown][i] = uint8(known)
	c.small[colTags][i] = uint8(tags)
	c.small[colConsOrder][i] = uint8(consOrder)
	c.wide[colTerms][i] = e.Terms
	c.wide[colGene][i] = gene
	c.wide[colWarn][i] = e.Warn
	c.wide[colAF][i] = af
	c.n++
	fs, a := &b.facets, uint32(b.alleles) // rows < 2³², so alleles are too
	fs[colImpact].note(impact, a)
	fs[colTerms].noteSet(e.Terms, a)
	fs[colGene].note(gene, a)
	fs[colKnown].note(known, a)
	fs[colTags].noteIf(0, a, tags&1)
	fs[colTags].noteIf(1, a, tags>>1)
	fs[colWarn].noteSet(e.Warn, a)
	fs[colConsOrder].counts[consOrder]++
	fs[colAF].counts[af]++
}

func (b *Builder) writeRecords() error {
	if _, err := b.out.Write(b.recs); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	b.recs = b.recs[:0]
	return nil
}

// flush ends the chunk as a run and writes it: its pending records, its
// allele-start bitmap and its postings, facet by facet through the same
// buffer.
func (b *Builder) flush(last bool) error {
	if g := &b.facets[colGene]; len(g.order) != len(b.genes.names) {
		g.names, g.order = b.genes.names, byName(b.genes.names)
	}
	c := b.chunk
	r := run{counts: make([][]uint32, numCols), firsts: make([]map[uint32]int64, numCols)}
	for i := range b.facets {
		r.counts[i] = b.facets[i].take(last)
	}
	if c.n == 0 {
		return nil // an empty index, or rows a multiple of ChunkRows
	}
	if err := b.writeRecords(); err != nil {
		return err
	}
	r.at = runEntry{Records: b.runAt, Postings: make([]int64, numCols)}
	if b.opt.format != 3 {
		if err := b.writeBlocks(&r.at); err != nil {
			return err
		}
	}
	r.at.Bitmap = b.out.n
	if _, err := b.out.Write(c.bitmap()); err != nil {
		return fmt.Errorf("write allele bitmap: %w", err)
	}
	for i := range b.facets {
		r.at.Postings[i] = b.out.n
		if err := b.writeFacet(&r, c.n, i); err != nil {
			return fmt.Errorf("write %s postings: %w", b.facets[i].name, err)
		}
	}
	b.runs = append(b.runs, r)
	c.n = 0
	clear(c.first)
	return nil
}

// writeBlocks writes the run's block table (format 4): where each block
// of its rows starts in its records, then where they end.
func (b *Builder) writeBlocks(at *runEntry) error {
	tab := make([]byte, 0, 4*(len(b.blocks4)+1))
	for _, o := range append(b.blocks4, uint32(b.runBytes)) {
		tab = binary.LittleEndian.AppendUint32(tab, o)
	}
	at.Blocks = b.out.n
	b.blocks4, b.runBytes = b.blocks4[:0], 0
	if err := b.writePieces(tab); err != nil {
		return fmt.Errorf("write block table: %w", err)
	}
	return nil
}

// writeFacet sorts the chunk's rows, run r, by facet i and writes their
// postings, but for the values whose rows in the run are consecutive
// ordinals (minRange or more): the dictionary gives their first. Without
// known variants every row is novel and of unknown AF (one value, the
// whole run), and a gene's rows mostly follow one another.
func (b *Builder) writeFacet(r *run, rows, i int) error {
	f, counts := &b.facets[i], r.counts[i]
	r.firsts[i] = map[uint32]int64{}
	if code := slices.Index(counts, uint32(rows)); code >= 0 && !f.multi {
		r.firsts[i][uint32(code)] = b.rows - int64(rows) // one value: nothing to sort
		return nil
	}
	p, at := b.sort(rows, counts, i), 0
	for _, code := range f.order {
		n := int(counts[code])
		if n >= minRange {
			first := binary.LittleEndian.Uint32(p[at:])
			if binary.LittleEndian.Uint32(p[at+(n-1)*postingSize:])-first == uint32(n-1) {
				if err := b.writePieces(p[:at]); err != nil {
					return err
				}
				p, at = p[at+n*postingSize:], 0
				r.firsts[i][code] = int64(first)
				continue
			}
		}
		at += n * postingSize
	}
	return b.writePieces(p)
}

// writePieces writes p maxPiece at a time.
func (b *Builder) writePieces(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), maxPiece)
		if _, err := b.out.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// sort sorts the chunk's rows rows, with counts per code, by facet i
// into the chunk's buffer.
func (b *Builder) sort(rows int, counts []uint32, i int) []byte {
	f, c := &b.facets[i], b.chunk
	if len(c.next) < len(f.names) {
		c.next = make([]uint32, len(f.names))
	}
	start := b.rows - int64(rows)
	if narrow&(1<<i) != 0 {
		c.sorted = sortColumn(f, c.small[i][:rows], counts, start, c.sorted, c.next)
	} else {
		c.sorted = sortColumn(f, c.wide[i][:rows], counts, start, c.sorted, c.next)
	}
	return c.sorted
}

// Finish writes the last run, the dictionary and the footer (an empty
// index when nothing was started). The index is complete only when it
// returns nil.
func (b *Builder) Finish() error {
	if !b.started {
		if err := b.Start(&Vocabulary{}, 0); err != nil {
			return err
		}
	}
	if err := b.flush(true); err != nil {
		return err
	}
	dict := dictionary{Version: b.opt.format, Rows: b.rows, Alleles: b.alleles, Header: b.header,
		Chroms: orEmpty(b.chroms.names), Terms: b.voc.Terms, Warnings: b.voc.Warnings, Genes: b.genes.names,
		AlleleBlocks: orEmpty(b.blocks), RunRows: int64(b.opt.ChunkRows), Runs: []runEntry{}}
	for _, r := range b.runs {
		dict.Runs = append(dict.Runs, r.at)
	}
	for i := range b.facets {
		f := &b.facets[i]
		dict.Facets = append(dict.Facets, facetEntry{Name: f.name, Values: f.values(b.runs, i)})
	}
	return b.writeDictionary(dict)
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
	copy(foot[16:], magics[b.opt.format].footer)
	if _, err := b.out.Write(foot[:]); err != nil {
		return fmt.Errorf("write index footer: %w", err)
	}
	if err := b.out.w.Flush(); err != nil {
		return fmt.Errorf("flush index: %w", err)
	}
	return nil
}

// Close lets the builder's memory go to the next index; call it whether
// or not Finish succeeded.
func (b *Builder) Close() error {
	if b.chunk != nil {
		keepChunk(b.chunk)
		b.chunk = nil
	}
	return nil
}

// orEmpty is s, or an empty slice for the dictionary's JSON (not null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
