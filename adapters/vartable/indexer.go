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
	"slices"
	"sort"
	"strconv"
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
	impact  []Impact
	cons    []uint16
	gene    []uint32
	known   []bool
	chroms  codes
	consDic codes
	geneDic codes
}

// codes assigns dense first-seen codes to names.
type codes struct {
	names []string
	index map[string]uint32
}

func (c *codes) code(name []byte) uint32 {
	if c.index == nil {
		c.index = map[string]uint32{}
	}
	if v, ok := c.index[string(name)]; ok {
		return v
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
// the most severe annotation of that allele.
func (b *builder) addLine(line []byte, offset int64) error {
	content := bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(content)) == 0 {
		return nil
	}
	if len(content) > math.MaxUint32 {
		return fmt.Errorf("line longer than 4 GiB")
	}
	var cols [8][]byte
	rest := content
	for i := 0; i < 8; i++ {
		j := bytes.IndexByte(rest, '\t')
		if j < 0 {
			cols[i] = rest
			rest = nil
			if i < 4 {
				return fmt.Errorf("a VCF record needs at least 5 tab-separated columns")
			}
			break
		}
		cols[i], rest = rest[:j], rest[j+1:]
	}
	pos, err := strconv.ParseUint(string(cols[1]), 10, 32)
	if err != nil {
		return fmt.Errorf("POS %q: %w", cols[1], err)
	}
	chrom := b.chroms.code(cols[0])
	if chrom > math.MaxUint16 {
		return fmt.Errorf("more than 65535 chromosomes")
	}
	known := len(cols[2]) > 0 && !bytes.Equal(cols[2], []byte("."))
	if !known {
		known = hasFlag(cols[7], "KNOWN") || hasFlag(cols[7], "DB")
	}
	alts := bytes.Split(cols[4], []byte{','})
	alts = alts[:min(len(alts), math.MaxUint16+1)] // the record's allele field is 16 bits
	bests := bestAnnotations(infoValue(cols[7], annKey), alts)
	for ai, best := range bests {
		cons := b.consDic.code(best.consequence)
		if cons > math.MaxUint16 {
			return fmt.Errorf("more than 65535 distinct consequences")
		}
		r := record{
			offset: uint64(offset), length: uint32(len(content)), pos: uint32(pos),
			chrom: uint16(chrom), consequence: uint16(cons), gene: b.geneDic.code(best.gene),
			allele: uint16(ai), impact: best.impact, known: known,
		}
		r.put(b.recBuf[:])
		if _, err := b.out.Write(b.recBuf[:]); err != nil {
			return fmt.Errorf("write record: %w", err)
		}
		b.n++
		b.impact = append(b.impact, r.impact)
		b.cons = append(b.cons, r.consequence)
		b.gene = append(b.gene, r.gene)
		b.known = append(b.known, r.known)
	}
	if b.n > math.MaxUint32 {
		return fmt.Errorf("more than %d variants", uint64(math.MaxUint32))
	}
	return nil
}

// annotation is the part of one ANN entry the index keeps.
type annotation struct {
	consequence []byte
	gene        []byte
	impact      Impact
}

// bestAnnotations picks, for each ALT allele, the most severe of its ANN
// entries (the first on ties, since annotators list the canonical one
// first), reading ANN once: a record with many alleles has as many entries
// per allele, so rescanning ANN per allele would be quadratic. With a
// single ALT, entries whose allele column differs (some tools write the
// trimmed allele of indels) still count.
func bestAnnotations(ann []byte, alts [][]byte) []annotation {
	best := make([]annotation, len(alts))
	found := make([]bool, len(alts))
	first := firstIndex(alts)
	for len(ann) > 0 {
		var entry []byte
		if i := bytes.IndexByte(ann, ','); i >= 0 {
			entry, ann = ann[:i], ann[i+1:]
		} else {
			entry, ann = ann, nil
		}
		var f [4][]byte
		rest := entry
		for i := 0; i < 4; i++ {
			j := bytes.IndexByte(rest, '|')
			if j < 0 {
				f[i] = rest
				rest = nil
				break
			}
			f[i], rest = rest[:j], rest[j+1:]
		}
		i := 0
		if len(alts) > 1 {
			var ok bool
			if i, ok = first(f[0]); !ok {
				continue
			}
		}
		cons := f[1]
		if k := bytes.IndexByte(cons, '&'); k >= 0 {
			cons = cons[:k]
		}
		a := annotation{consequence: cons, gene: f[3], impact: ParseImpact(string(f[2]))}
		if !found[i] || a.impact > best[i].impact {
			best[i], found[i] = a, true
		}
	}
	for i, alt := range alts { // a repeated allele shares its first copy's entries
		if j, _ := first(alt); j != i {
			best[i] = best[j]
		}
	}
	return best
}

// firstIndex returns a lookup of the first position of an allele in alts:
// a scan for a few alleles, a map for many.
func firstIndex(alts [][]byte) func(allele []byte) (int, bool) {
	if len(alts) <= 8 {
		return func(allele []byte) (int, bool) {
			i := slices.IndexFunc(alts, func(a []byte) bool { return bytes.Equal(a, allele) })
			return i, i >= 0
		}
	}
	at := make(map[string]int, len(alts))
	for i := len(alts) - 1; i >= 0; i-- {
		at[string(alts[i])] = i
	}
	return func(allele []byte) (int, bool) {
		i, ok := at[string(allele)]
		return i, ok
	}
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

// hasFlag reports whether an INFO column holds the flag (or key=value) name.
func hasFlag(info []byte, name string) bool {
	for len(info) > 0 {
		var item []byte
		if i := bytes.IndexByte(info, ';'); i >= 0 {
			item, info = info[:i], info[i+1:]
		} else {
			item, info = info, nil
		}
		if k := bytes.IndexByte(item, '='); k >= 0 {
			item = item[:k]
		}
		if string(item) == name {
			return true
		}
	}
	return false
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
		return uint32(b.impact[i])
	case FacetConsequence:
		return uint32(b.cons[i])
	case FacetGene:
		return b.gene[i]
	default:
		if b.known[i] {
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
	perm := make([]uint32, b.n)
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
