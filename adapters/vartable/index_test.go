package vartable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

type modelVariant struct {
	line        int
	chrom       string
	pos         int64
	allele      int
	alt         string
	impact      Impact
	consequence string
	gene        string
	known       bool
}

var (
	testGenes = []string{"BRCA1", "TP53", "EGFR", "KRAS", "APOE", "CFTR", "MYC", ""}
	testCons  = []struct {
		name   string
		impact string
	}{
		{"stop_gained", "HIGH"}, {"frameshift_variant", "HIGH"}, {"missense_variant", "MODERATE"},
		{"synonymous_variant", "LOW"}, {"intron_variant", "MODIFIER"}, {"intergenic_variant", "MODIFIER"},
	}
)

// synthVCF makes an annotated VCF of n records (some multi-allelic) and the
// model of what the index must contain.
func synthVCF(n int, seed uint64) ([]byte, []modelVariant) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p'\">\n")
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	var model []modelVariant
	bases := []string{"A", "C", "G", "T"}
	for i := 0; i < n; i++ {
		chrom := fmt.Sprintf("chr%d", 1+i*3/n)
		pos := int64(1000 + i*10)
		ref := bases[rng.IntN(4)]
		nalt := 1
		if rng.IntN(10) == 0 {
			nalt = 2
		}
		var alts []string
		for len(alts) < nalt {
			a := bases[rng.IntN(4)]
			if a != ref && !slices.Contains(alts, a) {
				alts = append(alts, a)
			}
		}
		id := "."
		known := rng.IntN(3) == 0
		if known {
			id = fmt.Sprintf("rs%d", 100000+i)
		}
		var anns []string
		for ai, alt := range alts {
			// two annotations per allele; the worse one must win
			c1 := testCons[rng.IntN(len(testCons))]
			c2 := testCons[rng.IntN(len(testCons))]
			gene := testGenes[rng.IntN(len(testGenes))]
			for _, c := range []struct{ name, impact string }{{c1.name, c1.impact}, {c2.name + "&splice_region_variant", c2.impact}} {
				anns = append(anns, fmt.Sprintf("%s|%s|%s|%s|ENSG%d|transcript|ENST%d.%d|protein_coding|1/3|c.%d%s>%s|p.Xaa%dYaa|||||",
					alt, c.name, c.impact, gene, i, i, ai, i, ref, alt, i))
			}
			best, bestName := ParseImpact(c1.impact), c1.name
			if ParseImpact(c2.impact) > best {
				best, bestName = ParseImpact(c2.impact), c2.name
			}
			if gene == "" {
				// an unannotated-gene allele: keep as is
			}
			model = append(model, modelVariant{line: i, chrom: chrom, pos: pos, allele: ai, alt: alt,
				impact: best, consequence: bestName, gene: gene, known: known})
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\t%s\t50\tPASS\tDP=10;ANN=%s\n", chrom, pos, id, ref, strings.Join(alts, ","), strings.Join(anns, ","))
	}
	return b.Bytes(), model
}

func buildIndex(t testing.TB, vcf []byte) *memRanger {
	t.Helper()
	var out bytes.Buffer
	if err := NewIndexer().Index(context.Background(), bytes.NewReader(vcf), &out); err != nil {
		t.Fatalf("Index: %v", err)
	}
	return &memRanger{b: out.Bytes()}
}

func facetValue(m modelVariant, f Facet) string {
	switch f {
	case FacetImpact:
		return m.impact.String()
	case FacetConsequence:
		return m.consequence
	case FacetGene:
		return m.gene
	}
	if m.known {
		return "known"
	}
	return "novel"
}

// expected computes a query's answer by brute force over the model.
func expected(model []modelVariant, q Query) (int64, []int) {
	var sel []int
	for i, m := range model {
		f := q.Filter
		if (f.Impact == "" || m.impact.String() == f.Impact) && (f.Consequence == "" || m.consequence == f.Consequence) &&
			(f.Gene == "" || m.gene == f.Gene) && (f.Known == "" || facetValue(m, FacetKnown) == f.Known) {
			sel = append(sel, i)
		}
	}
	rank := func(i int) (int, string) {
		m := model[i]
		switch q.Sort {
		case SortImpact:
			return -int(m.impact), ""
		case SortKnown:
			if m.known {
				return 0, ""
			}
			return 1, ""
		case SortConsequence, SortGene:
			v := facetValue(m, Facet(q.Sort))
			if v == "" {
				return 1, ""
			}
			return 0, v
		}
		return 0, ""
	}
	sort.SliceStable(sel, func(a, b int) bool {
		ra, sa := rank(sel[a])
		rb, sb := rank(sel[b])
		if ra != rb {
			return ra < rb
		}
		return sa < sb
	})
	if q.Desc {
		slices.Reverse(sel)
	}
	total := int64(len(sel))
	if q.Offset >= total {
		return total, nil
	}
	end := min(total, q.Offset+q.Limit)
	return total, sel[q.Offset:end]
}

func TestQueriesMatchBruteForce(t *testing.T) {
	ctx := context.Background()
	vcf, model := synthVCF(3000, 1)
	mr := buildIndex(t, vcf)
	ix, err := Open(ctx, mr.ranger(), int64(len(mr.b)))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != int64(len(model)) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(model))
	}
	filters := []Filter{{}, {Impact: "HIGH"}, {Gene: "TP53"}, {Gene: ""}, {Known: "known"}, {Known: "novel", Impact: "MODERATE"},
		{Consequence: "missense_variant", Gene: "KRAS"}, {Consequence: "stop_gained", Known: "known", Impact: "HIGH"},
		{Gene: "NOPE"}, {Impact: "LOW", Consequence: "stop_gained"}}
	sorts := []SortKey{SortPosition, SortImpact, SortConsequence, SortGene, SortKnown}
	checked := 0
	for _, f := range filters {
		for _, s := range sorts {
			for _, desc := range []bool{false, true} {
				for _, off := range []int64{0, 7, 50, 400, 5000} {
					q := Query{Filter: f, Sort: s, Desc: desc, Offset: off, Limit: 50}
					page, err := ix.Query(ctx, q)
					if err != nil {
						t.Fatalf("%+v: %v", q, err)
					}
					total, want := expected(model, q)
					if page.Total != total {
						t.Fatalf("%+v: total %d, want %d", q, page.Total, total)
					}
					if len(page.Variants) != len(want) {
						t.Fatalf("%+v: %d variants, want %d", q, len(page.Variants), len(want))
					}
					for i, v := range page.Variants {
						m := model[want[i]]
						if v.Ordinal != int64(want[i]) || v.Chrom != m.chrom || v.Pos != m.pos || v.Allele != m.allele ||
							v.Impact != m.impact || v.Consequence != m.consequence || v.Gene != m.gene || v.Known != m.known {
							t.Fatalf("%+v row %d: got %+v, want %+v (ordinal %d)", q, i, v, m, want[i])
						}
					}
					checked++
				}
			}
		}
	}
	if checked != len(filters)*len(sorts)*2*5 {
		t.Fatalf("checked %d queries", checked)
	}
}

func TestRowsReadBackFromVCF(t *testing.T) {
	ctx := context.Background()
	vcf, model := synthVCF(500, 2)
	mr := buildIndex(t, vcf)
	ix, err := Open(ctx, mr.ranger(), int64(len(mr.b)))
	if err != nil {
		t.Fatal(err)
	}
	page, err := ix.Query(ctx, Query{Filter: Filter{Impact: "HIGH"}, Sort: SortGene, Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	vr := &memRanger{b: vcf}
	rows, err := ReadRows(ctx, vr.ranger(), page.Variants)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no HIGH rows")
	}
	for _, r := range rows {
		m := model[r.Ordinal]
		if r.Alt != m.alt || r.Impact != ImpactHigh {
			t.Fatalf("row %+v: alt %q want %q", r, r.Alt, m.alt)
		}
		wantID := "."
		if m.known {
			wantID = fmt.Sprintf("rs%d", 100000+m.line)
		}
		if r.ID != wantID {
			t.Fatalf("row id %q, want %q", r.ID, wantID)
		}
		if !strings.HasPrefix(r.HGVSc, fmt.Sprintf("c.%d", m.line)) || r.Feature == "" {
			t.Fatalf("row HGVS/feature not parsed: %+v", r)
		}
		if !strings.HasPrefix(r.Line, m.chrom+"\t") || strings.ContainsAny(r.Line, "\n") {
			t.Fatalf("row line %q", r.Line)
		}
	}
}

func TestValuesAndEach(t *testing.T) {
	ctx := context.Background()
	vcf, model := synthVCF(1200, 3)
	mr := buildIndex(t, vcf)
	ix, err := Open(ctx, mr.ranger(), int64(len(mr.b)))
	if err != nil {
		t.Fatal(err)
	}
	imp := ix.Values(FacetImpact)
	if len(imp) == 0 || imp[0].Value != "HIGH" {
		t.Fatalf("impact values %+v: most severe must come first", imp)
	}
	genes := ix.Values(FacetGene)
	if genes[len(genes)-1].Value != "" {
		t.Fatalf("the no-gene value must sort last: %+v", genes)
	}
	var sum int64
	for _, g := range genes {
		sum += g.Count
	}
	if sum != int64(len(model)) {
		t.Fatalf("gene counts sum %d, want %d", sum, len(model))
	}
	var got []int64
	err = ix.Each(ctx, Filter{Known: "novel"}, SortImpact, false, 97, func(vs []Variant) error {
		for _, v := range vs {
			got = append(got, v.Ordinal)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total, want := expected(model, Query{Filter: Filter{Known: "novel"}, Sort: SortImpact, Limit: 1 << 30})
	if int64(len(got)) != total {
		t.Fatalf("Each yielded %d, want %d", len(got), total)
	}
	for i := range want {
		if got[i] != int64(want[i]) {
			t.Fatalf("Each order differs at %d", i)
		}
	}
}

func TestRefusesCompressedAndCorrupt(t *testing.T) {
	ctx := context.Background()
	err := NewIndexer().Index(ctx, bytes.NewReader([]byte{0x1f, 0x8b, 8, 0}), io.Discard)
	if !errors.Is(err, ErrCompressed) {
		t.Fatalf("gzip input: %v", err)
	}
	err = NewIndexer().Index(ctx, strings.NewReader("chr1\tnotanumber\t.\tA\tC\n"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad POS: %v", err)
	}
	vcf, _ := synthVCF(10, 4)
	mr := buildIndex(t, vcf)
	bad := slices.Clone(mr.b)
	bad[len(bad)-1] ^= 0xff
	if _, err := Open(ctx, (&memRanger{b: bad}).ranger(), int64(len(bad))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad footer: %v", err)
	}
	if _, err := Open(ctx, (&memRanger{b: bad[:10]}).ranger(), 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short: %v", err)
	}
	if _, err := ParseSortKey("qual"); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("sort key: %v", err)
	}
}

func TestEmptyVCF(t *testing.T) {
	ctx := context.Background()
	mr := buildIndex(t, []byte("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"))
	ix, err := Open(ctx, mr.ranger(), int64(len(mr.b)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ix.Query(ctx, Query{Sort: SortGene, Limit: 50})
	if err != nil || p.Total != 0 || len(p.Variants) != 0 {
		t.Fatalf("empty: %+v %v", p, err)
	}
}

func TestCancelledContextStopsIndexing(t *testing.T) {
	vcf, _ := synthVCF(20000, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewIndexer().Index(ctx, bytes.NewReader(vcf), io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestMillionVariantsPageReadsLittle checks the point of the index: on a
// million-variant result a page — even filtered and sorted — reads a small
// part of the index and answers in milliseconds.
func TestMillionVariantsPageReadsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-variant index; skipped with -short")
	}
	ctx := context.Background()
	vcf, _ := synthVCF(1_000_000, 6)
	start := time.Now()
	mr := buildIndex(t, vcf)
	t.Logf("indexed %d MB VCF (%d variants) into %d MB in %v", len(vcf)>>20, 1_000_000, len(mr.b)>>20, time.Since(start))
	ix, err := Open(ctx, mr.ranger(), int64(len(mr.b)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		q       Query
		maxRead int64
	}{
		{Query{Sort: SortPosition, Offset: 500_000, Limit: 50}, 64 << 10},
		{Query{Sort: SortGene, Desc: true, Offset: 300_000, Limit: 50}, 512 << 10},
		{Query{Filter: Filter{Gene: "TP53", Impact: "HIGH"}, Offset: 1000, Limit: 50}, 4 << 20}, // two posting lists
	}
	for _, c := range cases {
		mr.read.Store(0)
		t0 := time.Now()
		p, err := ix.Query(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(t0)
		if len(p.Variants) != 50 {
			t.Fatalf("%+v: %d variants", c.q, len(p.Variants))
		}
		if r := mr.read.Load(); r > c.maxRead {
			t.Fatalf("%+v read %d bytes of a %d-byte index, want <= %d", c.q, r, len(mr.b), c.maxRead)
		}
		t.Logf("%+v: %v, read %d bytes", c.q, d, mr.read.Load())
	}
	// A filtered sort scans the sort facet once, then pages from cache.
	q := Query{Filter: Filter{Known: "known"}, Sort: SortImpact, Offset: 100_000, Limit: 50}
	t0 := time.Now()
	if _, err := ix.Query(ctx, q); err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	mr.read.Store(0)
	q.Offset += 50
	t0 = time.Now()
	if _, err := ix.Query(ctx, q); err != nil {
		t.Fatal(err)
	}
	t.Logf("filtered impact sort: first page %v, next page %v reading %d bytes", first, time.Since(t0), mr.read.Load())
	if mr.read.Load() > 64<<10 {
		t.Fatalf("next page of a cached order read %d bytes", mr.read.Load())
	}
}

func BenchmarkIndex100k(b *testing.B) {
	vcf, _ := synthVCF(100_000, 7)
	b.SetBytes(int64(len(vcf)))
	for b.Loop() {
		if err := NewIndexer().Index(context.Background(), bytes.NewReader(vcf), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// manyAlts is one record with n ALT alleles, each with two ANN entries
// (a MODIFIER and, for every third allele, a HIGH one listed second).
func manyAlts(n int) []byte {
	var alts, ann strings.Builder
	for i := range n {
		alt := "A"
		for k := i; ; k /= 4 { // distinct alleles: i in base 4
			alt += string("ACGT"[k%4])
			if k < 4 {
				break
			}
		}
		if i > 0 {
			alts.WriteByte(',')
			ann.WriteByte(',')
		}
		alts.WriteString(alt)
		impact, cons := "MODIFIER", "intron_variant"
		if i%3 == 0 {
			impact, cons = "HIGH", "stop_gained"
		}
		fmt.Fprintf(&ann, "%s|intron_variant|MODIFIER|G%d|G%d|transcript|T%d|protein_coding|||||||,", alt, i%5, i%5, i)
		fmt.Fprintf(&ann, "%s|%s|%s|G%d|G%d|transcript|T%d|protein_coding|||||||", alt, cons, impact, i%5, i%5, i)
	}
	return []byte("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
		"chr1\t12676\t.\tA\t" + alts.String() + "\t.\t.\tANN=" + ann.String() + "\n")
}

// A record with 70,000 ALT alleles is indexed in one pass over its ANN
// field (it took 13 minutes when ANN was rescanned for every allele).
func TestRecordWithManyAllelesIndexesInOnePass(t *testing.T) {
	vcf := manyAlts(70_000)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	if err := NewIndexer().Index(ctx, bytes.NewReader(vcf), &out); err != nil {
		t.Fatalf("index (after %s): %v", time.Since(start), err)
	}
	t.Logf("%d KB record with 70,000 alleles indexed in %s", len(vcf)>>10, time.Since(start).Round(time.Millisecond))
	ix, err := Open(ctx, (&memRanger{b: out.Bytes()}).ranger(), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	high := ix.Values(FacetImpact)
	// The first 65,536 alleles are indexed (an index record's allele
	// number is 16 bits): every third HIGH, the rest MODIFIER.
	if len(high) != 2 || high[0].Value != "HIGH" || high[0].Count != 21_846 || high[1].Count != 43_690 {
		t.Fatalf("impacts %+v, want every third of 65,536 alleles HIGH and the rest MODIFIER", high)
	}
}
