package vartable

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Indexer builds the variant index while an annotated VCF streams past. It
// implements the pipeline's Indexer interface; the zero value is ready to use.
type Indexer struct{}

// NewIndexer returns an Indexer; it exists so wiring code reads naturally.
func NewIndexer() *Indexer { return &Indexer{} }

// builder accumulates the compact per-record columns the postings need; the
// records themselves go straight to the output, so memory is a few bytes per
// variant however large the VCF is.
type builder struct {
	out     *countingWriter
	recBuf  [recordSize]byte
	n       int64
	impact  column[Impact]
	cons    column[uint16]
	gene    column[uint32]
	known   column[bool]
	perm    []uint32 // the postings being written, reused per facet
	chroms  codes
	consDic codes
	geneDic codes
	// per-record scratch of bestPerAllele
	alts  [][]byte
	best  []annotation
	found []bool
}

// codes assigns dense first-seen codes to names. Names come in runs
// (records are sorted, genes cluster), so the last name is checked before
// the map.
type codes struct {
	names    []string
	index    map[string]uint32
	last     string
	lastCode uint32
}

func (c *codes) code(name []byte) uint32 {
	if len(c.names) > 0 && string(name) == c.last {
		return c.lastCode
	}
	if c.index == nil {
		c.index = map[string]uint32{}
	}
	v, ok := c.index[string(name)]
	if !ok {
		s := string(name)
		v = uint32(len(c.names))
		c.names = append(c.names, s)
		c.index[s] = v
	}
	c.last, c.lastCode = c.names[v], v
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

// Index reads an annotated VCF and writes its index to index. It fails on
// gzip input (offsets must address the stored plain text) and on records it
// cannot locate (no CHROM/POS); annotation content it does not understand is
// indexed as unannotated rather than refused.
func (Indexer) Index(ctx context.Context, annotatedVCF io.Reader, index io.Writer) error {
	br := bufio.NewReaderSize(annotatedVCF, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return ErrCompressed
	}
	b := &builder{out: &countingWriter{w: bufio.NewWriterSize(index, 64<<10)}}
	if _, err := io.WriteString(b.out, headerMagic); err != nil {
		return fmt.Errorf("write index header: %w", err)
	}
	var (
		offset, lineNo, checked int64
		long                    []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			lineNo++
			if b.n >= checked+4096 { // by records indexed: a line may hold many
				if cerr := ctx.Err(); cerr != nil {
					return fmt.Errorf("index variants: %w", cerr)
				}
				checked = b.n
			}
			if line[0] != '#' {
				if perr := b.addLine(line, offset); perr != nil {
					return fmt.Errorf("index variants: line %d: %w", lineNo, perr)
				}
			}
			offset += int64(len(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("index variants: read: %w", err)
		}
	}
	return b.finish()
}

var (
	annKey = []byte("ANN=")
	tab    = []byte{'\t'}
)

// addLine indexes one VCF data line: one record per ALT allele, each with
// the most severe annotation of that allele. The line is scanned once, the
// ANN field once however many alleles the record has.
func (b *builder) addLine(line []byte, offset int64) error {
	content := line
	for n := len(content); n > 0 && (content[n-1] == '\n' || content[n-1] == '\r'); n = len(content) {
		content = content[:n-1]
	}
	if len(bytes.TrimSpace(content)) == 0 {
		return nil
	}
	if len(content) > math.MaxUint32 {
		return fmt.Errorf("line longer than 4 GiB")
	}
	var cols [8][]byte
	rest := content
	for i := range cols {
		j := bytes.IndexByte(rest, '\t')
		if j < 0 {
			cols[i] = rest
			if i < 4 {
				return fmt.Errorf("a VCF record needs at least 5 tab-separated columns")
			}
			break
		}
		cols[i], rest = rest[:j], rest[j+1:]
	}
	pos, ok := parsePos(cols[1])
	if !ok {
		return fmt.Errorf("POS %q is not a position", cols[1])
	}
	chrom := b.chroms.code(cols[0])
	if chrom > math.MaxUint16 {
		return fmt.Errorf("more than 65535 chromosomes")
	}
	ann, flagged := scanInfo(cols[7])
	known := flagged || (len(cols[2]) > 0 && !bytes.Equal(cols[2], []byte(".")))
	best := b.bestPerAllele(ann, cols[4])
	for ai, a := range best {
		cons := b.consDic.code(a.consequence)
		if cons > math.MaxUint16 {
			return fmt.Errorf("more than 65535 distinct consequences")
		}
		r := record{
			offset: uint64(offset), length: uint32(len(content)), pos: pos,
			chrom: uint16(chrom), consequence: uint16(cons), gene: b.geneDic.code(a.gene),
			allele: uint16(ai), impact: a.impact, known: known,
		}
		r.put(b.recBuf[:])
		if _, err := b.out.Write(b.recBuf[:]); err != nil {
			return fmt.Errorf("write record: %w", err)
		}
		b.n++
		b.impact.add(r.impact)
		b.cons.add(r.consequence)
		b.gene.add(r.gene)
		b.known.add(r.known)
	}
	if b.n > math.MaxUint32 {
		return fmt.Errorf("more than %d variants", uint64(math.MaxUint32))
	}
	return nil
}

// parsePos reads a VCF POS (1-based, fits in 32 bits).
func parsePos(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return uint32(v), v <= math.MaxUint32
}

// annotation is the part of one ANN entry the index keeps.
type annotation struct {
	consequence []byte
	gene        []byte
	impact      Impact
}

// maxLinearAlleles is how many ALT alleles are matched to ANN entries by
// comparison; records with more use a map, so a record with thousands of
// alleles costs time linear in its length.
const maxLinearAlleles = 8

// bestPerAllele returns, for each ALT allele (up to 65,536), the most
// severe of its ANN entries (the first on ties, since annotators list the
// canonical one first), reading the ANN field once. With a single ALT,
// entries whose allele column differs (some tools write the trimmed allele
// of indels) still count. The slice is reused by the next call.
func (b *builder) bestPerAllele(ann, alt []byte) []annotation {
	b.alts = b.alts[:0]
	for rest := alt; len(b.alts) <= math.MaxUint16; {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			b.alts = append(b.alts, rest)
			break
		}
		b.alts, rest = append(b.alts, rest[:i]), rest[i+1:]
	}
	b.best = append(b.best[:0], make([]annotation, len(b.alts))...)
	found := b.found[:0]
	found = append(found, make([]bool, len(b.alts))...)
	b.found = found
	var byAllele map[string]int
	if len(b.alts) > maxLinearAlleles {
		byAllele = make(map[string]int, len(b.alts))
		for i := len(b.alts) - 1; i >= 0; i-- {
			byAllele[string(b.alts[i])] = i
		}
	}
	for len(ann) > 0 {
		var entry []byte
		if i := bytes.IndexByte(ann, ','); i >= 0 {
			entry, ann = ann[:i], ann[i+1:]
		} else {
			entry, ann = ann, nil
		}
		allele, a := parseEntry(entry)
		ai := b.alleleIndex(allele, byAllele)
		if ai >= 0 && (!found[ai] || a.impact > b.best[ai].impact) {
			b.best[ai], found[ai] = a, true
		}
	}
	return b.best
}

// alleleIndex is the position of allele among the record's ALTs (0 for a
// single ALT whatever the allele says), -1 if it is none of them.
func (b *builder) alleleIndex(allele []byte, byAllele map[string]int) int {
	if len(b.alts) == 1 {
		return 0
	}
	if byAllele != nil {
		if i, ok := byAllele[string(allele)]; ok {
			return i
		}
		return -1
	}
	for i, a := range b.alts {
		if bytes.Equal(a, allele) {
			return i
		}
	}
	return -1
}

// parseEntry reads the allele, first consequence, impact and gene name of
// one ANN entry (its first four fields).
func parseEntry(entry []byte) ([]byte, annotation) {
	var f [4][]byte
	rest := entry
	for i := range f {
		j := bytes.IndexByte(rest, '|')
		if j < 0 {
			f[i] = rest
			break
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	cons := f[1]
	if k := bytes.IndexByte(cons, '&'); k >= 0 {
		cons = cons[:k]
	}
	return f[0], annotation{consequence: cons, gene: f[3], impact: ParseImpact(string(f[2]))}
}

// scanInfo reads an INFO column once: the value of ANN, and whether the
// KNOWN or DB flag (or key) marks the variant as known.
func scanInfo(info []byte) (ann []byte, flagged bool) {
	for len(info) > 0 {
		var item []byte
		if i := bytes.IndexByte(info, ';'); i >= 0 {
			item, info = info[:i], info[i+1:]
		} else {
			item, info = info, nil
		}
		if bytes.HasPrefix(item, annKey) {
			ann = item[len(annKey):]
			continue
		}
		if k := bytes.IndexByte(item, '='); k >= 0 {
			item = item[:k]
		}
		if string(item) == "KNOWN" || string(item) == "DB" {
			flagged = true
		}
	}
	return ann, flagged
}

// infoValue returns the value of key ("ANN=") in an INFO column.
func infoValue(info, key []byte) []byte {
	for len(info) > 0 {
		var item []byte
		if i := bytes.IndexByte(info, ';'); i >= 0 {
			item, info = info[:i], info[i+1:]
		} else {
			item, info = info, nil
		}
		if bytes.HasPrefix(item, key) {
			return item[len(key):]
		}
	}
	return nil
}

// finish writes the four posting permutations, the dictionary and the footer.
func (b *builder) finish() error {
	dict := dictionary{Version: 1, Records: b.n, Chroms: b.chroms.names,
		Consequences: b.consDic.names, Genes: b.geneDic.names}
	if dict.Chroms == nil {
		dict.Chroms = []string{}
	}
	if dict.Consequences == nil {
		dict.Consequences = []string{}
	}
	if dict.Genes == nil {
		dict.Genes = []string{}
	}
	for _, f := range facetOrder {
		values := b.facetValues(f, dict)
		entry := facetEntry{Name: f, Offset: b.out.n}
		if err := b.writePostings(f, values); err != nil {
			return err
		}
		entry.Values = values
		dict.Facets = append(dict.Facets, entry)
	}
	js, err := json.Marshal(dict)
	if err != nil {
		return fmt.Errorf("encode index dictionary: %w", err)
	}
	dictOffset := b.out.n
	if _, err := b.out.Write(js); err != nil {
		return fmt.Errorf("write index dictionary: %w", err)
	}
	var foot [footerSize]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(dictOffset))
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

// maxCode is the largest code facet f can hold.
func (b *builder) maxCode(f Facet) int {
	switch f {
	case FacetImpact:
		return int(ImpactHigh)
	case FacetConsequence:
		return len(b.consDic.names)
	case FacetGene:
		return len(b.geneDic.names)
	}
	return 1
}

// codeOf is the record's code for facet f.
func (b *builder) codeOf(f Facet, i int64) uint32 {
	switch f {
	case FacetImpact:
		return uint32(b.impact.at(i))
	case FacetConsequence:
		return uint32(b.cons.at(i))
	case FacetGene:
		return b.gene.at(i)
	default:
		if b.known.at(i) {
			return 1
		}
		return 0
	}
}

// facetValues lists a facet's values in sort order with their counts and
// posting starts. Names sort alphabetically with the empty name last;
// impacts sort most severe first; known sorts known before novel.
func (b *builder) facetValues(f Facet, d dictionary) []valueEntry {
	var names []string
	switch f {
	case FacetImpact:
		names = make([]string, ImpactHigh+1)
		for i := ImpactNone; i <= ImpactHigh; i++ {
			names[i] = i.String()
		}
	case FacetConsequence:
		names = d.Consequences
	case FacetGene:
		names = d.Genes
	default:
		names = []string{"novel", "known"}
	}
	counts := make([]int64, len(names))
	for i := int64(0); i < b.n; i++ {
		counts[b.codeOf(f, i)]++
	}
	values := make([]valueEntry, 0, len(names))
	for code, name := range names {
		if counts[code] == 0 {
			continue
		}
		values = append(values, valueEntry{Value: name, Code: uint32(code), Count: counts[code]})
	}
	switch f {
	case FacetImpact:
		sort.Slice(values, func(i, j int) bool { return values[i].Code > values[j].Code })
	case FacetKnown:
		sort.Slice(values, func(i, j int) bool { return values[i].Code > values[j].Code })
	default:
		sort.Slice(values, func(i, j int) bool {
			a, c := values[i].Value, values[j].Value
			if (a == "") != (c == "") {
				return c == ""
			}
			return a < c
		})
	}
	var start int64
	for i := range values {
		values[i].Start = start
		start += values[i].Count
	}
	return values
}

// writePostings writes the facet's permutation by counting sort: each
// value's ordinals contiguous and ascending.
func (b *builder) writePostings(f Facet, values []valueEntry) error {
	slot := make([]int, b.maxCode(f)+1)
	for i, v := range values {
		slot[v.Code] = i
	}
	next := make([]int64, len(values))
	for i, v := range values {
		next[i] = v.Start
	}
	if int64(cap(b.perm)) < b.n {
		b.perm = make([]uint32, b.n)
	}
	perm := b.perm[:b.n]
	for i := int64(0); i < b.n; i++ {
		s := slot[b.codeOf(f, i)]
		perm[next[s]] = uint32(i)
		next[s]++
	}
	var buf [4096]byte
	for len(perm) > 0 {
		k := min(len(perm), len(buf)/postingSize)
		for i := 0; i < k; i++ {
			binary.LittleEndian.PutUint32(buf[i*postingSize:], perm[i])
		}
		if _, err := b.out.Write(buf[:k*postingSize]); err != nil {
			return fmt.Errorf("write %s postings: %w", f, err)
		}
		perm = perm[k:]
	}
	return nil
}

// column is one per-record column of the builder, kept in fixed blocks:
// it grows without copying and without the spare half a doubling slice
// keeps, which matters at tens of millions of records.
type column[T any] struct{ blocks [][]T }

const (
	blockBits = 16
	blockLen  = 1 << blockBits
)

func (c *column[T]) add(v T) {
	if n := len(c.blocks); n == 0 || len(c.blocks[n-1]) == blockLen {
		c.blocks = append(c.blocks, make([]T, 0, blockLen))
	}
	last := &c.blocks[len(c.blocks)-1]
	*last = append(*last, v)
}

func (c *column[T]) at(i int64) T { return c.blocks[i>>blockBits][i&(blockLen-1)] }
