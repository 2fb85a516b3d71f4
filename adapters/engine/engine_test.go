package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/ports"
)

const casesDir = "../../../shared/testdata/csq-cases"

func needCases(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(casesDir); err != nil {
		t.Skipf("skipping: %s not found (the shared test data sits beside the checkout)", casesDir)
	}
}

func loadRef(t testing.TB, gff, fa string) *model.Reference {
	t.Helper()
	g, err := os.Open(gff)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f, err := os.Open(fa)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := Sources{Name: filepath.Base(fa), Genes: g, FASTA: f}
	if fai, err := os.Open(fa + ".fai"); err == nil {
		defer fai.Close()
		src.FASTAAt, src.FAI = f, fai
	}
	ref, err := BuildReference(src)
	if err != nil {
		t.Fatalf("%s: %v", gff, err)
	}
	return ref
}

func annotate(t testing.TB, ref *model.Reference, opt Options, vcf []byte) ([]byte, error) {
	t.Helper()
	e, err := New(ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = e.Annotate(context.Background(), bytes.NewReader(vcf), &out)
	return out.Bytes(), err
}

// annTerms maps (pos, ref, alt) → transcript (unversioned) → SO terms.
const tinyVCFHeader = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

func smallRef(t *testing.T) (*model.Reference, synth.Files) {
	t.Helper()
	files, err := synth.WriteFiles(t.TempDir(), synth.Small(), synth.FileOptions{Known: true, Truth: true})
	if err != nil {
		t.Fatal(err)
	}
	return loadRef(t, files.GFF3, files.FASTA), files
}

func TestInputErrors(t *testing.T) {
	ref, _ := smallRef(t)
	rec := "chr1\t1000\t.\tA\tG\t.\t.\t.\n"
	cases := []struct {
		name, in, want string
		opt            Options
	}{
		{"missing header", rec, "missing header", Options{}},
		{"empty", "", "empty input", Options{}},
		{"no #CHROM", "##fileformat=VCFv4.2\n" + rec, "missing header", Options{}},
		{"few columns", tinyVCFHeader + "chr1\t1000\t.\tA\n", "line 3: expected at least 8 tab-separated columns, found 4", Options{}},
		{"bad POS", tinyVCFHeader + "chr1\tx10\t.\tA\tG\t.\t.\t.\n", "line 3: POS \"x10\" is not a position", Options{}},
		{"bad REF", tinyVCFHeader + "chr1\t10\t.\tAQ\tG\t.\t.\t.\n", "line 3: REF \"AQ\" contains 'Q'", Options{}},
		{"long line", tinyVCFHeader + "chr1\t10\t.\tA\tG\t.\t.\t" + strings.Repeat("X", 5000) + "\n", "longer than 4096 bytes", Options{MaxLine: 4096}},
		{"long allele", tinyVCFHeader + "chr1\t10\t.\tA\t" + strings.Repeat("G", 200) + "\t.\t.\t.\n", "line 3: ALT allele longer than 100 bases", Options{MaxAllele: 100}},
		{"header line among data", tinyVCFHeader + rec + "#chr1\t10\t.\tA\tG\t.\t.\t.\n", "line 4: line starts with '#' after the data lines began", Options{}},
		{"short POS at line end", tinyVCFHeader + "chr1\t1x\t.\tA\tG\t.\t.\t.\n", "line 3: POS \"1x\" is not a position", Options{}},
	}
	for _, tc := range cases {
		_, err := annotate(t, ref, tc.opt, []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
			continue
		}
		if !errors.Is(err, ports.ErrBadInput) {
			t.Errorf("%s: %v does not wrap ports.ErrBadInput", tc.name, err)
		}
	}
}

func TestTruncatedGzip(t *testing.T) {
	ref, _ := smallRef(t)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(tinyVCFHeader))
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(w, "chr1\t%d\t.\tA\tG\t.\t.\t.\n", 1000+i)
	}
	w.Close()
	cut := gz.Bytes()[:gz.Len()/2]
	_, err := annotate(t, ref, Options{}, cut)
	if err == nil || !errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated gzip: %v", err)
	}
}

func TestCRLFBOMSkipAndPassThrough(t *testing.T) {
	ref, _ := smallRef(t)
	in := "\xEF\xBB\xBF##fileformat=VCFv4.3\r\n##INFO=<ID=DP,Number=1,Type=Integer,Description=\"d\">\r\n" +
		"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\r\n" +
		"chr1\t1000\trs1\tA\tG,<DEL>,*\t50\tPASS\tDP=3\tGT\t0/1\r\n" +
		"chr1\tbad\t.\tA\tG\t.\t.\t.\r\n" +
		"chr1\t2000\t.\tA\t.\t.\t.\t.\r\n" +
		"chrUn\t5\t.\tA\tC\t.\t.\t.\r\n"
	out, err := annotate(t, ref, Options{OnError: Skip}, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, csq.ANNHeader) || strings.Contains(s, "\r") {
		t.Fatalf("header or line endings wrong:\n%s", s)
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	body := lines[len(lines)-3:]
	if !strings.HasPrefix(body[0], "chr1\t1000\trs1\tA\tG,<DEL>,*\t50\tPASS\tDP=3;ANN=G|") || !strings.HasSuffix(body[0], "\tGT\t0/1") {
		t.Errorf("record not kept untouched apart from ANN: %s", body[0])
	}
	if !strings.Contains(body[0], "<DEL>|sequence_variant|MODIFIER|") || !strings.Contains(body[0], "INFO_STAR_ALLELE_NOT_ANNOTATED") {
		t.Errorf("symbolic/star alleles not passed through with a note: %s", body[0])
	}
	if body[1] != "chr1\t2000\t.\tA\t.\t.\t.\t." {
		t.Errorf("no-ALT record changed: %s", body[1])
	}
	if !strings.Contains(body[2], "ERROR_CHROMOSOME_NOT_FOUND") {
		t.Errorf("unknown chromosome not flagged: %s", body[2])
	}
	e, _ := New(ref, Options{OnError: Skip})
	sum, err := e.Annotate(context.Background(), strings.NewReader(in), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || len(sum.SkippedLines) != 1 || !strings.HasPrefix(sum.SkippedLines[0], "line 5: ") {
		t.Errorf("skipped: %d %v", sum.Skipped, sum.SkippedLines)
	}
	if sum.Records != 3 || sum.Variants != 4 || sum.ByClass["other"] != 2 || sum.ByChromosome["chr1"] != 2 {
		t.Errorf("summary: %+v", sum)
	}
}

func TestSummaryAndKnownVariants(t *testing.T) {
	ref, files := smallRef(t)
	vcf, err := os.ReadFile(files.Variants)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Known: func(r known.Reference) (known.Matcher, error) {
		return known.Open(files.Known, known.Options{Reference: r})
	}}
	e, _ := New(ref, opt)
	var out bytes.Buffer
	sum, err := e.Annotate(context.Background(), bytes.NewReader(vcf), &out)
	if err != nil {
		t.Fatal(err)
	}
	st := files.Stats
	if sum.Records != int64(st.Records) || sum.Variants != int64(st.Alleles) || sum.Reference == "" {
		t.Fatalf("records %d/%d alleles %d/%d", sum.Records, st.Records, sum.Variants, st.Alleles)
	}
	if sum.ByClass["SNV"] == 0 || sum.Transitions == 0 || sum.Transversions == 0 || len(sum.ByConsequence) < 8 ||
		sum.ByImpact["HIGH"] == 0 || len(sum.TopHighImpactGenes) == 0 || len(sum.ByChromosome) != 2 {
		t.Fatalf("summary incomplete: %+v", sum)
	}
	// known: compare with the generator's answer key
	truth, err := os.ReadFile(files.Truth)
	if err != nil {
		t.Fatal(err)
	}
	wantKnown := 0
	for _, l := range strings.Split(string(truth), "\n") {
		f := strings.Split(l, "\t")
		if len(f) >= 5 && f[4] != "." {
			wantKnown++
		}
	}
	if sum.Known != int64(wantKnown) {
		for _, l := range strings.Split(string(truth), "\n") {
			f := strings.Split(l, "\t")
			if len(f) >= 5 && f[4] != "." && !bytes.Contains(out.Bytes(), []byte(f[4])) {
				t.Logf("missed: %s", l)
			}
		}
		t.Errorf("known alleles %d, answer key says %d", sum.Known, wantKnown)
	}
	if !bytes.Contains(out.Bytes(), []byte("KNOWN_AF=")) || !bytes.Contains(out.Bytes(), []byte("\trs")) {
		t.Errorf("known IDs / AF not written")
	}
}

func TestGasdbRoundTrip(t *testing.T) {
	ref, files := smallRef(t)
	var db bytes.Buffer
	if err := gasdb.Write(&db, ref, gasdb.Meta{Known: "/x/known.vcf.gz"}); err != nil {
		t.Fatal(err)
	}
	ref2, meta, err := gasdb.ReadMeta(bytes.NewReader(db.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Known != "/x/known.vcf.gz" || ref2.Name != ref.Name {
		t.Fatalf("meta %+v name %q", meta, ref2.Name)
	}
	vcf, _ := os.ReadFile(files.Variants)
	a, err := annotate(t, ref, Options{}, vcf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := annotate(t, ref2, Options{}, vcf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("annotation from the database differs from annotation from GFF3+FASTA")
	}
	bad := append([]byte(nil), db.Bytes()...)
	bad[len(bad)/2] ^= 0xff
	if _, err := gasdb.Read(bytes.NewReader(bad)); !errors.Is(err, gasdb.ErrFormat) {
		t.Fatalf("damaged db: %v", err)
	}
}

// TestParallelMatchesSerial: the worker pipeline keeps record order and
// gives the same bytes as one worker.
func TestParallelMatchesSerial(t *testing.T) {
	cfg := synth.Small()
	cfg.Variants = 30000
	files, err := synth.WriteFiles(t.TempDir(), cfg, synth.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadRef(t, files.GFF3, files.FASTA)
	vcf, _ := os.ReadFile(files.Variants)
	a, err := annotate(t, ref, Options{Workers: 1}, vcf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := annotate(t, ref, Options{Workers: 4}, vcf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("parallel output differs from serial")
	}
	if n := bytes.Count(a, []byte("\n")); n < 30000 {
		t.Fatalf("%d lines", n)
	}
}
