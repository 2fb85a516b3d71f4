package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
type siteKey struct{ chrom, pos, ref, alt string }

func parseANN(out []byte) map[siteKey]map[string]map[string]bool {
	res := map[siteKey]map[string]map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, "\t")
		k := siteKey{f[0], f[1], f[3], f[4]}
		m := map[string]map[string]bool{}
		for _, kv := range strings.Split(f[7], ";") {
			if !strings.HasPrefix(kv, "ANN=") {
				continue
			}
			for _, ent := range strings.Split(kv[4:], ",") {
				p := strings.Split(ent, "|")
				if len(p) != 16 {
					continue
				}
				tx := strings.SplitN(p[6], ".", 2)[0]
				if m[tx] == nil {
					m[tx] = map[string]bool{}
				}
				for _, term := range strings.Split(p[1], "&") {
					m[tx][term] = true
					if m["*"] == nil {
						m["*"] = map[string]bool{}
					}
					m["*"][term] = true
				}
			}
		}
		res[k] = m
	}
	return res
}

// bcftools csq names → Sequence Ontology (as the project's comparison does).
var bcsqToSO = map[string]string{
	"missense": "missense_variant", "synonymous": "synonymous_variant", "stop_gained": "stop_gained",
	"stop_lost": "stop_lost", "start_lost": "start_lost", "frameshift": "frameshift_variant",
	"inframe_deletion": "inframe_deletion", "inframe_insertion": "inframe_insertion",
	"inframe_altering": "protein_altering_variant", "splice_donor": "splice_donor_variant",
	"splice_acceptor": "splice_acceptor_variant", "splice_region": "splice_region_variant",
	"intron": "intron_variant", "5_prime_utr": "5_prime_UTR_variant", "3_prime_utr": "3_prime_UTR_variant",
	"non_coding": "non_coding_transcript_exon_variant", "stop_retained": "stop_retained_variant",
	"start_retained": "start_retained_variant", "coding_sequence": "coding_sequence_variant",
	"NMD_transcript": "NMD_transcript_variant",
}

// knownExceptions are EXP= records whose expectation only holds in
// bcftools' haplotype-aware or --force modes (see docs/engine.md).
var knownExceptions = map[string]string{
	"ribosomal-slippage.vcf:13468": "ribosomal slippage (overlapping CDS pieces) is modelled as one CDS; bcftools --force reports the slip site as splice_region",
}

// TestCSQCasesExpected: every EXP= record of the shared bcftools cases gets
// its expected consequence on its transcript.
func TestCSQCasesExpected(t *testing.T) {
	needCases(t)
	vcfs, _ := filepath.Glob(filepath.Join(casesDir, "*", "*.vcf"))
	checked := 0
	for _, vcf := range vcfs {
		data, err := os.ReadFile(vcf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("EXP=")) {
			continue
		}
		dir := filepath.Dir(vcf)
		base := strings.TrimSuffix(filepath.Base(vcf), ".vcf")
		gff := filepath.Join(dir, base+".gff")
		if _, err := os.Stat(gff); err != nil {
			gff = filepath.Join(dir, filepath.Base(dir)+".gff")
		}
		fas, _ := filepath.Glob(filepath.Join(dir, "*.fa"))
		ref := loadRef(t, gff, fas[0])
		out, err := annotate(t, ref, Options{}, data)
		if err != nil {
			t.Fatalf("%s: %v", vcf, err)
		}
		got := parseANN(out)
		for _, l := range strings.Split(string(data), "\n") {
			if l == "" || l[0] == '#' || !strings.Contains(l, "EXP=") {
				continue
			}
			f := strings.Split(l, "\t")
			var exp string
			for _, kv := range strings.Split(f[7], ";") {
				if strings.HasPrefix(kv, "EXP=") {
					exp = kv[4:]
				}
			}
			if strings.HasPrefix(exp, "@") {
				continue // haplotype-aware compound reference: no local expectation
			}
			if why, ok := knownExceptions[filepath.Base(vcf)+":"+f[1]]; ok {
				t.Logf("%s:%s: documented exception: %s", filepath.Base(vcf), f[1], why)
				continue
			}
			m := got[siteKey{f[0], f[1], f[3], f[4]}]
			for _, ent := range strings.Split(exp, ",") {
				p := strings.Split(ent, "|")
				checked++
				if p[0] == "." {
					for term := range m["*"] {
						if term != "intron_variant" && term != "upstream_gene_variant" && term != "downstream_gene_variant" && term != "intergenic_variant" && term != "non_coding_transcript_variant" {
							t.Errorf("%s %s: expected no consequence, got %s", filepath.Base(vcf), f[1], term)
						}
					}
					continue
				}
				tx := "*"
				if len(p) > 2 && p[2] != "" {
					tx = p[2]
				}
				for _, term := range strings.Split(p[0], "&") {
					so := bcsqToSO[term]
					if so == "" {
						so = term
					}
					if !m[tx][so] && !m["*"][so] {
						t.Errorf("%s %s %s>%s %s: expected %s, got %v", filepath.Base(vcf), f[1], f[3], f[4], tx, so, keys(m[tx]))
					}
				}
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d expectations checked", checked)
	}
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// txVariants writes a sorted VCF of random SNVs and small indels around and
// inside the exons and CDS of the given reference (seeded, deterministic):
// the same recipe as the project's differential hooks, in Go.
func txVariants(ref *model.Reference, seed uint64, perFeature int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type rec struct {
		chrom    int32
		pos      int32
		ref, alt string
	}
	seen := map[rec]bool{}
	var recs []rec
	for i := range ref.Transcripts {
		tr := &ref.Transcripts[i]
		spans := append([]model.Range(nil), tr.Exons...)
		if tr.Coding() {
			spans = append(spans, model.Range{Start: tr.CDSStart, End: tr.CDSEnd})
		}
		for _, sp := range spans {
			for k := 0; k < perFeature; k++ {
				var p int32
				switch rng.IntN(3) {
				case 0:
					p = sp.Start
				case 1:
					p = sp.End
				default:
					p = sp.Start + rng.Int32N(sp.End-sp.Start+1)
				}
				p += rng.Int32N(25) - 12
				s := ref.Seq(tr.Chrom, p, p+12)
				if p < 2 || s == nil || !strings.ContainsRune("ACGT", rune(s[0])) {
					continue
				}
				r := rng.Float64()
				var x rec
				switch {
				case r < 0.6:
					alts := strings.ReplaceAll("ACGT", string(s[0]), "")
					x = rec{tr.Chrom, p, string(s[0]), string(alts[rng.IntN(3)])}
				case r < 0.8:
					l := []int{1, 2, 3, 4, 6}[rng.IntN(5)]
					x = rec{tr.Chrom, p, string(s[:l+1]), string(s[0])}
				default:
					l := []int{1, 2, 3, 5}[rng.IntN(4)]
					ins := make([]byte, l)
					for j := range ins {
						ins[j] = "ACGT"[rng.IntN(4)]
					}
					x = rec{tr.Chrom, p, string(s[0]), string(s[0]) + string(ins)}
				}
				if strings.Trim(x.ref, "ACGT") != "" || seen[x] {
					continue
				}
				seen[x] = true
				recs = append(recs, x)
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.chrom != b.chrom {
			return a.chrom < b.chrom
		}
		if a.pos != b.pos {
			return a.pos < b.pos
		}
		if a.ref != b.ref {
			return a.ref < b.ref
		}
		return a.alt < b.alt
	})
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n")
	for _, c := range ref.Chroms {
		fmt.Fprintf(&b, "##contig=<ID=%s>\n", c.Name)
	}
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for _, r := range recs {
		fmt.Fprintf(&b, "%s\t%d\t.\t%s\t%s\t.\t.\t.\n", ref.Chroms[r.chrom].Name, r.pos, r.ref, r.alt)
	}
	return b.Bytes()
}

// bcftoolsCSQ runs `bcftools csq -l` and returns site → transcript → terms.
func bcftoolsCSQ(t *testing.T, fa, gff string, vcf []byte) (map[siteKey]map[string]map[string]bool, error) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.vcf")
	if err := os.WriteFile(in, vcf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bcftools", "csq", "-l", "-f", fa, "-g", gff, in, "-Ov")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bcftools: %v: %s", err, stderr.String())
	}
	res := map[siteKey]map[string]map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, "\t")
		k := siteKey{f[0], f[1], f[3], f[4]}
		for _, kv := range strings.Split(f[7], ";") {
			if !strings.HasPrefix(kv, "BCSQ=") {
				continue
			}
			for _, ent := range strings.Split(kv[5:], ",") {
				if strings.HasPrefix(ent, "@") {
					continue
				}
				p := strings.Split(ent, "|")
				if len(p) < 3 || p[2] == "" {
					continue // intron / non-coding entries carry no transcript
				}
				if res[k] == nil {
					res[k] = map[string]map[string]bool{}
				}
				tx := strings.SplitN(p[2], ".", 2)[0]
				terms := map[string]bool{}
				for _, term := range strings.Split(strings.TrimLeft(p[0], "*"), "&") {
					if term == "NMD_transcript" {
						continue // a biotype note, not a consequence
					}
					if so := bcsqToSO[term]; so != "" {
						term = so
					}
					terms[term] = true
				}
				res[k][tx] = terms
			}
		}
	}
	return res, nil
}

// agreement counts (variant, transcript) pairs whose bcftools terms are all
// among ours.
func agreement(t *testing.T, want, got map[siteKey]map[string]map[string]bool) (agree, total int) {
	shown := 0
	for k, txs := range want {
		for tx, terms := range txs {
			total++
			ok := true
			for term := range terms {
				if !got[k][tx][term] {
					ok = false
				}
			}
			if ok {
				agree++
			} else if shown < 15 {
				t.Logf("differs: %v %s bcftools %v gas %v", k, tx, keys(terms), keys(got[k][tx]))
				shown++
			}
		}
	}
	return agree, total
}

func needBcftools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bcftools"); err != nil {
		t.Skip("skipping: bcftools not installed (the differential oracle; `apt-get install bcftools`)")
	}
}

// TestDifferentialCases compares with bcftools csq -l on variants generated
// across the shared real transcripts.
func TestDifferentialCases(t *testing.T) {
	needCases(t)
	needBcftools(t)
	dirs, _ := filepath.Glob(filepath.Join(casesDir, "*"))
	var agree, total int
	for _, d := range dirs {
		gffs, _ := filepath.Glob(filepath.Join(d, "*.gff"))
		fas, _ := filepath.Glob(filepath.Join(d, "*.fa"))
		if len(gffs) == 0 || len(fas) == 0 {
			continue
		}
		for _, gff := range gffs {
			ref := loadRef(t, gff, fas[0])
			vcf := txVariants(ref, 77, 10)
			want, err := bcftoolsCSQ(t, fas[0], gff, vcf)
			if err != nil {
				t.Logf("%s: bcftools refuses this file, skipped: %v", filepath.Base(gff), firstLine(err.Error()))
				continue
			}
			out, err := annotate(t, ref, Options{}, vcf)
			if err != nil {
				t.Fatalf("%s: %v", gff, err)
			}
			a, n := agreement(t, want, parseANN(out))
			agree += a
			total += n
		}
	}
	pct := 100 * float64(agree) / float64(total)
	t.Logf("agreement with bcftools csq -l on real transcripts: %d/%d = %.2f%%", agree, total, pct)
	if total < 1000 || pct < 99.5 {
		t.Fatalf("agreement %.2f%% over %d pairs, want >= 99.5%% over >= 1000", pct, total)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestDifferentialSynthetic compares with bcftools on a synthetic genome
// from the project's generator.
func TestDifferentialSynthetic(t *testing.T) {
	needBcftools(t)
	cfg := synth.Small()
	cfg.Variants = 20000
	dir := t.TempDir()
	files, err := synth.WriteFiles(dir, cfg, synth.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadRef(t, files.GFF3, files.FASTA)
	vcf, err := os.ReadFile(files.Variants)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bcftoolsCSQ(t, files.FASTA, files.GFF3, vcf)
	if err != nil {
		t.Fatal(err)
	}
	out, err := annotate(t, ref, Options{}, vcf)
	if err != nil {
		t.Fatal(err)
	}
	a, n := agreement(t, want, parseANN(out))
	pct := 100 * float64(a) / float64(n)
	t.Logf("agreement with bcftools csq -l on the synthetic genome: %d/%d = %.2f%%", a, n, pct)
	if n < 1000 || pct < 99.5 {
		t.Fatalf("agreement %.2f%% over %d pairs", pct, n)
	}
}

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
