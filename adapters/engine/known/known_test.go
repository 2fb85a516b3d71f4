package known

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/engine/tabix"
)

func TestNormalize(t *testing.T) {
	// reference: positions 1.. of "GGCACACATT"
	seq := "GGCACACATT"
	ref := ReferenceFunc(func(chrom string, s, e int64) []byte {
		if s < 1 || e > int64(len(seq)) {
			return nil
		}
		return []byte(seq[s-1 : e])
	})
	cases := []struct {
		pos       int64
		r, a      string
		wantPos   int64
		wantR, wa string
		ref       Reference
	}{
		{5, "C", "T", 5, "C", "T", ref},
		{5, "cA", "tA", 5, "C", "T", ref}, // shared suffix, lower case
		{4, "ACA", "A", 3, "CA", "", ref}, // CA deletion left-aligned in the repeat
		{6, "ACA", "A", 3, "CA", "", ref}, // same deletion written further right
		{8, "A", "ACA", 3, "", "CA", ref}, // insertion of CA left-aligned
		{4, "ACA", "A", 4, "AC", "", nil}, // without a reference: trimmed only
		{9, "TT", "T", 9, "T", "", ref},   // TT run: suffix-first trim keeps it left
		{2, "GCA", "TCA", 2, "G", "T", ref},
		{3, "CAC", "GTG", 3, "CAC", "GTG", ref}, // MNV untouched
	}
	for _, c := range cases {
		p, r, a := Normalize(c.ref, "x", c.pos, c.r, c.a, 100)
		if p != c.wantPos || r != c.wantR || a != c.wa {
			t.Errorf("Normalize(%d,%s,%s) = %d,%q,%q want %d,%q,%q", c.pos, c.r, c.a, p, r, a, c.wantPos, c.wantR, c.wa)
		}
	}
}

func TestAlleleFreq(t *testing.T) {
	info := []byte("DP=3;CAF=0.9,0.06,0.04;AF=0.1,0.2")
	if f, ok := alleleFreq(info, 1, []string{"AF", "CAF"}); !ok || f != 0.2 {
		t.Errorf("AF second allele: %v %v", f, ok)
	}
	if f, ok := alleleFreq(info, 1, []string{"CAF"}); !ok || f != 0.04 {
		t.Errorf("CAF second allele: %v %v", f, ok)
	}
	if _, ok := alleleFreq([]byte("AF=.;X=1"), 0, []string{"AF"}); ok {
		t.Error("missing value reported as a frequency")
	}
}

type query struct {
	chrom, ref, alt string
	pos             int64
	id, af          string
}

// synthSet writes a synthetic known VCF in several containers and returns
// the queries with their expected answers.
func synthSet(t testing.TB, variants int) (g *synth.Genome, dir string, qs []query, knownText []byte) {
	cfg := synth.Small()
	cfg.Variants = variants
	g, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var known, truth bytes.Buffer
	if _, err := g.WriteVariants(&bytes.Buffer{}, synth.VariantOptions{Known: &known, Truth: &truth}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&truth)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		p, _ := strconv.ParseInt(f[1], 10, 64)
		qs = append(qs, query{f[0], f[2], f[3], p, f[4], f[5]})
	}
	dir = t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("known.vcf", known.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(known.Bytes())
	zw.Close()
	write("known.gzip.vcf.gz", gz.Bytes())
	var bz bytes.Buffer
	bw, _ := bgzf.NewWriter(&bz)
	bw.Write(known.Bytes())
	bw.Close()
	write("known.vcf.gz", bz.Bytes())
	write("noindex.vcf.gz", bz.Bytes())
	if err := tabix.IndexFile(filepath.Join(dir, "known.vcf.gz")); err != nil {
		t.Fatal(err)
	}
	return g, dir, qs, known.Bytes()
}

func genomeRef(g *synth.Genome) Reference {
	return ReferenceFunc(func(chrom string, s, e int64) []byte {
		seq := g.Sequence(chrom)
		if seq == nil {
			seq = g.Sequence("chr" + chrom)
		}
		if s < 1 || e > int64(len(seq)) {
			return nil
		}
		return seq[s-1 : e]
	})
}

func check(t *testing.T, m *Source, qs []query, rename func(string) string) {
	t.Helper()
	hits := 0
	for _, q := range qs {
		h, ok, err := m.Match(rename(q.chrom), q.pos, q.ref, q.alt)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case q.id == "." && ok:
			t.Fatalf("%s:%d %s>%s: unexpected hit %+v", q.chrom, q.pos, q.ref, q.alt, h)
		case q.id != "." && !ok:
			t.Fatalf("%s:%d %s>%s: missed %s", q.chrom, q.pos, q.ref, q.alt, q.id)
		case ok && (h.ID != q.id || !h.HasAF || strconv.FormatFloat(h.AF, 'g', 4, 64) != q.af):
			t.Fatalf("%s:%d %s>%s: got %+v want %s AF %s", q.chrom, q.pos, q.ref, q.alt, h, q.id, q.af)
		}
		if ok {
			hits++
		}
	}
	if hits == 0 {
		t.Fatal("no hits at all")
	}
}

func TestSyntheticAllStrategies(t *testing.T) {
	g, dir, qs, _ := synthSet(t, 20000)
	shuffled := append([]query(nil), qs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	same := func(s string) string { return s }
	noChr := func(s string) string { return strings.TrimPrefix(s, "chr") }
	for _, file := range []string{"known.vcf.gz", "noindex.vcf.gz", "known.vcf", "known.gzip.vcf.gz"} {
		for _, order := range []string{"sorted", "shuffled"} {
			t.Run(file+"/"+order, func(t *testing.T) {
				m, err := Open(filepath.Join(dir, file), Options{Reference: genomeRef(g), Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				q := qs
				if order == "shuffled" {
					if file == "known.gzip.vcf.gz" || file == "known.vcf" || file == "noindex.vcf.gz" {
						q = shuffled[:300] // rescans from the chromosome start: keep it short
					} else {
						q = shuffled[:4000]
					}
				}
				check(t, m, q, map[bool]func(string) string{true: noChr, false: same}[order == "sorted"])
				st := m.Stats()
				if file == "known.vcf.gz" != st.Indexed {
					t.Errorf("indexed=%v", st.Indexed)
				}
				if order == "sorted" && st.MaxWindowRecord > 200 {
					t.Errorf("window grew to %d records: memory not bounded", st.MaxWindowRecord)
				}
				if order == "shuffled" && st.Seeks+st.Rewinds == 0 {
					t.Errorf("shuffled queries answered without seeking: %+v", st)
				}
				t.Logf("%+v", st)
			})
		}
	}
}

// TestSparseQueriesJump: with an index, far-apart sorted queries seek
// instead of reading every record in between.
func TestSparseQueriesJump(t *testing.T) {
	g, dir, qs, _ := synthSet(t, 200000)
	var sparse []query
	for i := 0; i < len(qs); i += 10000 {
		sparse = append(sparse, qs[i])
	}
	read := map[int64]Stats{}
	for _, jump := range []int64{1, 1 << 40} {
		m, err := Open(filepath.Join(dir, "known.vcf.gz"), Options{Reference: genomeRef(g), JumpBytes: jump})
		if err != nil {
			t.Fatal(err)
		}
		check(t, m, sparse, func(s string) string { return s })
		read[jump] = m.Stats()
		m.Close()
	}
	jumping, scanning := read[1], read[1<<40]
	if jumping.Seeks < int64(len(sparse))/2 || jumping.RecordsRead*2 > scanning.RecordsRead {
		t.Errorf("sparse queries did not jump: jumping %+v, scanning %+v", jumping, scanning)
	}
}

func TestChr21KnownSource(t *testing.T) {
	src := "../../../../shared/testdata/ensembl-chr21/variants.vcf"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("shared test data absent (%v); skipping the Ensembl chr21 known-variants test", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "chr21.vcf.gz")
	var bz bytes.Buffer
	w, _ := bgzf.NewWriter(&bz)
	w.Write(data)
	w.Close()
	os.WriteFile(path, bz.Bytes(), 0o644)
	if err := tabix.IndexFile(path); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seen := map[string]string{}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 5 || strings.HasPrefix(l, "#") || strings.HasPrefix(f[4], "<") {
			continue
		}
		pos, _ := strconv.ParseInt(f[1], 10, 64)
		for _, alt := range strings.Split(f[4], ",") {
			key := fmt.Sprint(f[1], f[3], alt)
			if _, dup := seen[key]; !dup {
				seen[key] = f[2]
			}
			h, ok, err := m.Match("chr"+f[0], pos, f[3], alt)
			if err != nil || !ok || h.ID != seen[key] {
				t.Fatalf("%s:%s %s>%s: got %+v %v %v want %s", f[0], f[1], f[3], alt, h, ok, err, seen[key])
			}
			n++
		}
		// a different allele at the same position must not match
		other := map[string]string{"A": "C", "C": "G", "G": "T", "T": "A"}[f[4]]
		if len(f[3]) == 1 && other != "" && other != f[3] {
			if _, ok, _ := m.Match(f[0], pos, f[3], other); ok && seen[fmt.Sprint(f[1], f[3], other)] == "" {
				t.Fatalf("%s:%s: allele %s matched by position only", f[0], f[1], other)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d alleles checked", n)
	}
}

func TestPrepare(t *testing.T) {
	g, dir, qs, _ := synthSet(t, 3000)
	for _, src := range []string{"known.vcf", "known.gzip.vcf.gz", "noindex.vcf.gz"} {
		dst := filepath.Join(dir, "prepared-"+src+".bgz")
		if err := Prepare(filepath.Join(dir, src), dst); err != nil {
			t.Fatal(err)
		}
		m, err := Open(dst, Options{Reference: genomeRef(g)})
		if err != nil {
			t.Fatal(err)
		}
		if !m.Stats().Indexed {
			t.Errorf("%s: prepared file not indexed", src)
		}
		check(t, m, qs, func(s string) string { return s })
		m.Close()
	}
	if err := EnsureIndex(filepath.Join(dir, "noindex.vcf.gz")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "noindex.vcf.gz.tbi")); err != nil {
		t.Error("EnsureIndex wrote no index")
	}
}
