package vartable

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gasproject/gas/adapters/engine/export"
)

// memRanger serves ranges of b and counts the bytes handed out, so tests
// can assert that a page reads only what it needs.
type memRanger struct {
	b     []byte
	read  atomic.Int64
	calls atomic.Int64
}

func (m *memRanger) ranger() Ranger {
	return func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		if off < 0 || off > int64(len(m.b)) {
			return nil, fmt.Errorf("offset %d out of range", off)
		}
		end := int64(len(m.b))
		if n >= 0 && off+n < end {
			end = off + n
		}
		m.read.Add(end - off)
		m.calls.Add(1)
		return io.NopCloser(bytes.NewReader(m.b[off:end])), nil
	}
}

// The test vocabulary: terms most severe first, with their impacts.
var (
	testTerms    = []string{"stop_gained", "frameshift_variant", "missense_variant", "splice_region_variant", "synonymous_variant", "intron_variant", "upstream_gene_variant", "downstream_gene_variant", "intergenic_variant"}
	testImpacts  = []Impact{ImpactHigh, ImpactHigh, ImpactModerate, ImpactLow, ImpactLow, ImpactModifier, ImpactModifier, ImpactModifier, ImpactModifier}
	testWarnings = []string{"WARNING_REF_DOES_NOT_MATCH_GENOME", "ERROR_CHROMOSOME_NOT_FOUND", "ERROR_OUT_OF_CHROMOSOME_RANGE"}
	// two gene indexes share the name G00002, as genes of one symbol do
	testGenes = []string{"G00001", "G00002", "G00003", "G00002", "G00004", "G00005"}
	testVocab = &Vocabulary{Terms: testTerms, Warnings: testWarnings, Genes: testGenes}
)

// modelRow is one row as the brute-force model sees it.
type modelRow struct {
	line, allele, ann int
	chrom             string
	pos               int64
	terms             uint32
	impact            Impact
	gene              string
	known             bool
	tags              Tags
	warn              uint32
	af                float32
	first             bool
	alleleID          int
}

// synth makes an annotated VCF of n lines, the builder's input for it and
// the model of its rows. Alleles have one to four entries, most severe
// first, as the engine writes them.
func synth(n int, seed uint64) (vcf []byte, lines []Line, entries []Entry, model []modelRow) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	bases := []string{"A", "C", "G", "T"}
	alleleID := -1
	for i := 0; i < n; i++ {
		chrom := fmt.Sprintf("chr%d", 1+i*3/n)
		pos := int64(1000 + i*10)
		ref := bases[rng.IntN(4)]
		var alts []string
		for len(alts) < 1+rng.IntN(10)/9 {
			if a := bases[rng.IntN(4)]; a != ref && !slices.Contains(alts, a) {
				alts = append(alts, a)
			}
		}
		id := "."
		known := rng.IntN(3) == 0
		if known {
			id = fmt.Sprintf("rs%d", i)
		}
		var anns, afs []string
		start := len(entries)
		for ai, alt := range alts {
			alleleID++
			af := float32(math.NaN())
			if rng.IntN(2) == 0 {
				v, _ := strconv.ParseFloat(strconv.FormatFloat(math.Pow(10, -4*rng.Float64()), 'g', 6, 64), 32)
				af = float32(v)
				afs = append(afs, strconv.FormatFloat(float64(af), 'g', 6, 32))
			} else {
				afs = append(afs, ".")
			}
			var es []Entry
			for k := 0; k < 1+rng.IntN(4); k++ {
				t := uint32(1) << rng.IntN(len(testTerms))
				if rng.IntN(4) == 0 {
					t |= 1 << 3 // splice_region too
				}
				e := Entry{Allele: uint32(ai), Terms: t, Impact: testImpacts[bitsTrailing(t)], Gene: int32(rng.IntN(len(testGenes)+1)) - 1,
					Known: known, AF: af, Tags: Tags(rng.IntN(4)) &^ TagMANESelect}
				if rng.IntN(5) == 0 {
					e.Tags |= TagCanonical | TagMANESelect
				}
				if rng.IntN(6) == 0 {
					e.Warn = 1 << rng.IntN(len(testWarnings))
				}
				es = append(es, e)
			}
			sort.SliceStable(es, func(x, y int) bool { return bitsTrailing(es[x].Terms) < bitsTrailing(es[y].Terms) })
			for k := range es {
				es[k].Ann = uint32(len(entries) - start)
				e := es[k]
				entries = append(entries, e)
				gene := ""
				if e.Gene >= 0 {
					gene = testGenes[e.Gene]
				}
				anns = append(anns, annText(alt, e, gene))
				model = append(model, modelRow{line: i, allele: ai, ann: int(e.Ann), chrom: chrom, pos: pos, terms: e.Terms, impact: e.Impact,
					gene: gene, known: known, tags: e.Tags, warn: e.Warn, af: af, first: k == 0, alleleID: alleleID})
			}
		}
		line := fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t50\tPASS\tDP=10;ANN=%s;KNOWN_AF=%s", chrom, pos, id, ref, strings.Join(alts, ","),
			strings.Join(anns, ","), strings.Join(afs, ","))
		lines = append(lines, Line{Offset: int64(b.Len()), Length: len(line), Chrom: []byte(chrom), Pos: pos, Entries: len(entries) - start})
		b.WriteString(line + "\n")
	}
	return b.Bytes(), lines, entries, model
}

func bitsTrailing(t uint32) int {
	for i := 0; i < 32; i++ {
		if t&(1<<i) != 0 {
			return i
		}
	}
	return 32
}

func annText(alt string, e Entry, gene string) string {
	var terms, warns []string
	for i, n := range testTerms {
		if e.Terms&(1<<i) != 0 {
			terms = append(terms, n)
		}
	}
	for i, n := range testWarnings {
		if e.Warn&(1<<i) != 0 {
			warns = append(warns, n)
		}
	}
	if e.Tags&TagCanonical != 0 {
		warns = append(warns, "INFO_CANONICAL")
	}
	return fmt.Sprintf("%s|%s|%s|%s|ID%s|transcript|T%d|protein_coding|1/3|c.1A>G|||||||%s", alt, strings.Join(terms, "&"),
		e.Impact, gene, gene, e.Ann, strings.Join(warns, "&"))
}

// build writes the index of lines/entries handed over in batches of
// uneven sizes, as the engine's batches come.
func build(t testing.TB, vcf []byte, lines []Line, entries []Entry, opt BuildOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	b := NewBuilder(&out, opt)
	defer b.Close()
	if err := b.Start(testVocab, int64(bytes.Index(vcf, []byte("\nchr"))+1)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(lines); {
		n := min(len(lines)-i, 1+i%37)
		k := 0
		for _, l := range lines[i : i+n] {
			k += l.Entries
		}
		if err := b.Lines(lines[i:i+n], entries[:k]); err != nil {
			t.Fatal(err)
		}
		i, entries = i+n, entries[k:]
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(t testing.TB, b []byte) (*Index, *memRanger) {
	t.Helper()
	mr := &memRanger{b: b}
	ix, err := Open(context.Background(), mr.ranger(), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return ix, mr
}

// matches is the brute-force filter of one row, without MostSevere.
func (m modelRow) matches(f Filter) bool {
	has := func(names []string, set uint32, v string) bool {
		for i, n := range names {
			if set&(1<<i) != 0 && (n == v || v == AnyWarning) {
				return true
			}
		}
		return false
	}
	known := Novel
	if m.known {
		known = Known
	}
	tr := (f.Transcript == Canonical && m.tags&TagCanonical != 0) || (f.Transcript == MANESelect && m.tags&TagMANESelect != 0)
	return (f.Impact == "" || m.impact.String() == f.Impact) && (f.Consequence == "" || has(testTerms, m.terms, f.Consequence)) &&
		(f.Gene == "" || m.gene == f.Gene) && (f.Known == "" || known == f.Known) && (f.Transcript == "" || tr) &&
		(f.Warning == "" || has(testWarnings, m.warn, f.Warning)) && (f.AFBelow == 0 || m.af != m.af || m.af < float32(f.AFBelow))
}

// expected computes a query's answer by brute force over the model.
func expected(model []modelRow, q Query) (int64, []int) {
	var sel []int
	lastAllele := -1
	for i, m := range model {
		if !m.matches(q.Filter) || (q.Filter.MostSevere && m.alleleID == lastAllele) {
			continue
		}
		sel = append(sel, i)
		lastAllele = m.alleleID
	}
	key := func(i int) string {
		m := model[i]
		switch q.Sort {
		case SortImpact:
			return strconv.Itoa(9 - int(m.impact))
		case SortKnown:
			if m.known {
				return "0"
			}
			return "1"
		case SortConsequence:
			return fmt.Sprintf("%02d", bitsTrailing(m.terms))
		case SortGene:
			if m.gene == "" {
				return "~"
			}
			return m.gene
		}
		return ""
	}
	sort.SliceStable(sel, func(a, b int) bool { return key(sel[a]) < key(sel[b]) })
	if q.Desc {
		slices.Reverse(sel)
	}
	total := int64(len(sel))
	if q.Offset >= total {
		return total, nil
	}
	return total, sel[q.Offset:min(total, q.Offset+q.Limit)]
}

var testFilters = []Filter{{}, {MostSevere: true}, {Impact: "HIGH"}, {Gene: "G00002"}, {Gene: "G00002", MostSevere: true},
	{Consequence: "splice_region_variant"}, {Consequence: "splice_region_variant", MostSevere: true}, {Known: Known},
	{Known: Novel, Impact: "MODERATE"}, {Transcript: Canonical}, {Transcript: MANESelect, MostSevere: true},
	{Warning: AnyWarning}, {Warning: "ERROR_CHROMOSOME_NOT_FOUND", MostSevere: true}, {AFBelow: 0.01}, {AFBelow: 0.001, Known: Known},
	{AFBelow: 0.0005, Consequence: "intron_variant", MostSevere: true}, {Gene: "NOPE"}, {Impact: "LOW", Consequence: "stop_gained"},
	{Consequence: "missense_variant", Gene: "G00004", Transcript: Canonical}}

// TestQueriesMatchBruteForce: every filter, sort and page as a brute
// force over the model says, in one run or many, and for a result
// without known variants too, whose known and AF facets have one value
// per run and so store no postings (nor does "canonical" when every row
// is, nor a gene whose rows follow one another).
func TestQueriesMatchBruteForce(t *testing.T) {
	vcf, lines, entries, model := synth(3000, 1)
	for _, chunk := range []int{0, 64, 1000} {
		checkQueries(t, build(t, vcf, lines, entries, BuildOptions{ChunkRows: chunk}), model, chunk)
	}
	entries, model = slices.Clone(entries), slices.Clone(model)
	for i := range entries { // every row canonical (multi-valued), genes in blocks (G00002 once)
		g := []int{0, 1, 2, 4, 5}[i*5/len(entries)]
		entries[i].Known, entries[i].AF, entries[i].Tags, entries[i].Gene = false, float32(math.NaN()), entries[i].Tags|TagCanonical, int32(g)
		model[i].known, model[i].af, model[i].tags, model[i].gene = false, float32(math.NaN()), entries[i].Tags, testGenes[g]
	}
	for _, chunk := range []int{0, 64} {
		b := build(t, vcf, lines, entries, BuildOptions{ChunkRows: chunk})
		ix, _ := open(t, b)
		for r, run := range ix.dict.Runs {
			end := int64(binary.LittleEndian.Uint64(b[len(b)-footerSize:]))
			if r+1 < len(ix.dict.Runs) {
				end = ix.dict.Runs[r+1].Records
			}
			genes := run.Postings[colGene+1] - run.Postings[colGene] // genes of under minRange rows in the run are listed
			if run.Postings[colKnown] != run.Postings[colKnown+1] || run.Postings[colAF] != end || genes >= 2*minRange*postingSize {
				t.Fatalf("chunk %d run %d: known, AF or a gene's consecutive rows listed (%d bytes of genes)", chunk, r, genes)
			}
		}
		checkQueries(t, b, model, chunk)
	}
}

// TestCountsAreTheTablesCounts: a value's Rows is what filtering on it
// shows, its Alleles what the one-row-per-allele view shows.
func TestCountsAreTheTablesCounts(t *testing.T) {
	ctx := context.Background()
	vcf, lines, entries, model := synth(2000, 2)
	ix, _ := open(t, build(t, vcf, lines, entries, BuildOptions{}))
	filter := func(f Facet, v string) Filter {
		switch f {
		case FacetImpact:
			return Filter{Impact: v}
		case FacetConsequence:
			return Filter{Consequence: v}
		case FacetGene:
			return Filter{Gene: v}
		case FacetKnown:
			return Filter{Known: v}
		case FacetTranscript:
			return Filter{Transcript: v}
		}
		return Filter{Warning: v}
	}
	n := 0
	for _, f := range []Facet{FacetImpact, FacetConsequence, FacetGene, FacetKnown, FacetTranscript, FacetWarning} {
		for _, v := range ix.Values(f) {
			if v.Value == "" {
				continue
			}
			flt := filter(f, v.Value)
			for _, ms := range []bool{false, true} {
				flt.MostSevere = ms
				p, err := ix.Query(ctx, Query{Filter: flt, Limit: 1})
				want, _ := expected(model, Query{Filter: flt})
				if err != nil || p.Total != v.In(ms) || p.Total != want {
					t.Fatalf("%s=%s (most severe %v): counted %d, table %d, model %d (%v)", f, v.Value, ms, v.In(ms), p.Total, want, err)
				}
				n++
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d values checked", n)
	}
}

// TestAFBelowIsExactAtTheBoundary: rows at exactly the threshold are not
// below it, rows just under are, whatever bucket they share.
func TestAFBelowIsExactAtTheBoundary(t *testing.T) {
	vcf := []byte("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	var lines []Line
	var entries []Entry
	for i, af := range []float32{0.01, 0.0099999, 0.0100001, float32(math.NaN()), 0, 0.5, 0.009} {
		lines = append(lines, Line{Offset: int64(len(vcf) + i), Length: 1, Chrom: []byte("chr1"), Pos: int64(i + 1), Entries: 1})
		entries = append(entries, Entry{Terms: 1, Impact: ImpactHigh, Gene: -1, AF: af})
	}
	ix, _ := open(t, build(t, append(vcf, "chr\n"...), lines, entries, BuildOptions{}))
	if len(ix.dict.Genes) != 1 {
		t.Fatalf("the dictionary names genes no row has: %v", ix.dict.Genes)
	}
	for x, want := range map[float64][]int64{0.01: {1, 3, 4, 6}, 0.0100001: {0, 1, 3, 4, 6}, 1: {0, 1, 2, 3, 4, 5, 6}, 1e-9: {3, 4}} {
		p, err := ix.Query(context.Background(), Query{Filter: Filter{AFBelow: x}, Limit: 10})
		var got []int64
		for _, v := range p.Variants {
			got = append(got, v.Ordinal)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("AF below %g: %v (%v), want %v", x, got, err, want)
		}
	}
}

// TestPagesReadKilobytes: a page of a 300,000-row table reads a few
// kilobytes in either view, however deep.
func TestPagesReadKilobytes(t *testing.T) {
	vcf, lines, entries, _ := synth(100_000, 4)
	ix, mr := open(t, build(t, vcf, lines, entries, BuildOptions{}))
	for _, f := range []Filter{{}, {MostSevere: true}} {
		for _, off := range []int64{0, 150_000, ix.Len() - 10} {
			mr.read.Store(0)
			if _, err := ix.Query(context.Background(), Query{Filter: f, Offset: off, Limit: 50}); err != nil {
				t.Fatal(err)
			}
			if n := mr.read.Load(); n > 24<<10 {
				t.Errorf("%+v page at %d read %d bytes", f, off, n)
			}
		}
	}
}

// TestRowsAndExports: a row's columns are its own ANN entry's; the
// filtered export writes exactly the selected rows in the export schema;
// the VCF export is the header and each selected line once, in order.
func TestRowsAndExports(t *testing.T) {
	ctx := context.Background()
	vcf, lines, entries, model := synth(500, 5)
	ix, _ := open(t, build(t, vcf, lines, entries, BuildOptions{}))
	src := (&memRanger{b: vcf}).ranger()
	flt := Filter{Gene: "G00002"}
	p, err := ix.Query(ctx, Query{Filter: flt, Sort: SortGene, Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadRows(ctx, src, p.Variants)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	w := export.NewWriter(&want, export.TSV)
	for _, r := range rows {
		m := model[r.Ordinal]
		if r.Fields.Ann[3] != "G00002" || r.Fields.Ann[6] != fmt.Sprintf("T%d", m.ann) || r.Feature != r.Fields.Ann[6] ||
			r.Alt != strings.Split(strings.Split(r.Line, "\t")[4], ",")[m.allele] {
			t.Fatalf("row %d: %+v", r.Ordinal, r.Fields)
		}
		if err := w.Write(&r.Fields); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var got bytes.Buffer
	if err := ix.Export(ctx, src, flt, SortGene, false, &got, export.TSV); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() || strings.Count(got.String(), "\n") != len(rows)+1 {
		t.Fatalf("export:\n%s\nwant:\n%s", got.String(), want.String())
	}
	got.Reset()
	if err := ix.ExportVCF(ctx, src, flt, &got); err != nil {
		t.Fatal(err)
	}
	var wantVCF []string
	for _, l := range strings.SplitAfter(string(vcf), "\n") {
		if strings.HasPrefix(l, "#") || strings.Contains(l, "|G00002|") {
			wantVCF = append(wantVCF, l)
		}
	}
	if got.String() != strings.Join(wantVCF, "") {
		t.Fatalf("VCF export:\n%s\nwant:\n%s", got.String(), strings.Join(wantVCF, ""))
	}
}

func TestOldAndDamagedIndexesAreRefused(t *testing.T) {
	vcf, lines, entries, _ := synth(50, 6)
	b := build(t, vcf, lines, entries, BuildOptions{})
	old := bytes.Clone(b)
	copy(old[len(old)-8:], oldMagic)
	if _, err := Open(context.Background(), (&memRanger{b: old}).ranger(), int64(len(old))); !errors.Is(err, ErrOldFormat) {
		t.Fatalf("old index: %v", err)
	}
	for _, cut := range []int{0, 10, len(b) / 2, len(b) - 1} {
		bad := b[:cut]
		if _, err := Open(context.Background(), (&memRanger{b: bad}).ranger(), int64(len(bad))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
}

func TestFilterQueryStringRoundTrip(t *testing.T) {
	for _, f := range testFilters {
		if got := ParseFilter(f.Values()); got != f {
			t.Errorf("%+v came back as %+v", f, got)
		}
	}
	q := ParseFilter(map[string][]string{"known": {"maybe"}, "af_below": {"2"}, "transcript": {"x"}, "most_severe": {"yes"}})
	if !q.IsZero() {
		t.Errorf("unusable values kept: %+v", q)
	}
}

// TestLinesTooLargeForARowAreTheInputsProblem: more annotations or ALT
// alleles on a line than a row can name is ErrLineTooLarge, naming it.
func TestLinesTooLargeForARowAreTheInputsProblem(t *testing.T) {
	for _, e := range []Entry{{Ann: MaxLineRows + 1}, {Allele: MaxLineRows + 1}} {
		b := NewBuilder(io.Discard, BuildOptions{})
		if err := b.Start(testVocab, 10); err != nil {
			t.Fatal(err)
		}
		err := b.Lines([]Line{{Offset: 10, Length: 5, Chrom: []byte("chr2"), Pos: 77, Entries: 1}}, []Entry{e})
		if !errors.Is(err, ErrLineTooLarge) || !strings.Contains(err.Error(), "chr2:77") {
			t.Fatalf("%+v: %v", e, err)
		}
		b.Close()
	}
}

// TestEntriesOutsideTheVocabularyAreRefused: a term or warning bit the
// vocabulary does not name is an error, not a crash.
func TestEntriesOutsideTheVocabularyAreRefused(t *testing.T) {
	for _, e := range []Entry{{Terms: 1 << len(testTerms)}, {Terms: 1, Warn: 1 << 31}} {
		b := NewBuilder(io.Discard, BuildOptions{})
		if err := b.Start(testVocab, 10); err != nil {
			t.Fatal(err)
		}
		if err := b.Lines([]Line{{Offset: 10, Length: 5, Chrom: []byte("chr2"), Pos: 77, Entries: 1}}, []Entry{e}); err == nil {
			t.Fatalf("%+v: no error", e)
		}
		b.Close()
	}
}

// TestBuilderMemoryIsBounded builds the index of 3,000,000 rows (what
// a million variants give) handed over 10,000 at a time, with the
// collector set to keep the heap near the live data: the heap grows by
// less than 64 MB, where keeping the rows' codes alone would take 96 MB
// (and the whole index in memory 234 MB). While a run is written the
// chunk (16 MB) and its sorted postings (about as much) are live at
// once; whether the collector has yet reclaimed the previous run's
// postings when the heap is sampled moves the figure between 35 and
// 50 MB, so the bound leaves room for that and no more.
func TestBuilderMemoryIsBounded(t *testing.T) {
	const rows, batch = 3_000_000, 10_000
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	b := NewBuilder(io.Discard, BuildOptions{})
	defer b.Close()
	if err := b.Start(testVocab, 100); err != nil {
		t.Fatal(err)
	}
	lines := make([]Line, batch)
	entries := make([]Entry, batch)
	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // twice: pooled buffers of earlier tests go too
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	for n := 0; n < rows; n += batch {
		for i := range lines {
			k := n + i
			lines[i] = Line{Offset: int64(100 + 50*k), Length: 49, Chrom: []byte("chr1"), Pos: int64(k + 1), Entries: 1}
			entries[i] = Entry{Terms: 1 << (k % len(testTerms)), Impact: testImpacts[k%len(testTerms)], Gene: int32(k % len(testGenes)),
				Known: k%3 == 0, AF: float32(k%1000) / 1000}
		}
		if err := b.Lines(lines, entries); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	if peak-base > 64<<20 {
		t.Fatalf("heap grew by %d MB while indexing %d rows", (peak-base)>>20, rows)
	}
	t.Logf("heap grew by %d MB for %d rows", (peak-base)>>20, rows)
}
