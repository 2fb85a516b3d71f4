package synth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var codonTable = func() map[string]bool {
	return map[string]bool{"TAA": true, "TAG": true, "TGA": true}
}()

func revcomp(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = complement[c]
	}
	return out
}

func genAll(t *testing.T, cfg Config) (*Genome, []byte, []byte, []byte, []byte, VariantStats) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fa, gff, vcf, known, truth bytes.Buffer
	if err := g.WriteFASTA(&fa); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteGFF3(&gff); err != nil {
		t.Fatal(err)
	}
	st, err := g.WriteVariants(&vcf, VariantOptions{Known: &known, Truth: &truth})
	if err != nil {
		t.Fatal(err)
	}
	_ = fa
	return g, gff.Bytes(), vcf.Bytes(), known.Bytes(), truth.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	sum := func() string {
		_, gff, vcf, known, truth, _ := genAll(t, Small())
		g, _ := New(Small())
		var fa bytes.Buffer
		g.WriteFASTA(&fa)
		h := sha256.New()
		for _, b := range [][]byte{fa.Bytes(), gff, vcf, known, truth} {
			h.Write(b)
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	if a, b := sum(), sum(); a != b {
		t.Fatal("same seed gave different files")
	}
	c := Small()
	c.Seed = 2
	_, _, v1, _, _, _ := genAll(t, Small())
	_, _, v2, _, _, _ := genAll(t, c)
	if bytes.Equal(v1, v2) {
		t.Fatal("different seeds gave the same variants")
	}
}

// BenchmarkSmall measures generating local mode's default reference, which
// gas serve does on first start (it should take well under a second).
func BenchmarkSmall(b *testing.B) {
	for b.Loop() {
		g, err := New(Small())
		if err != nil {
			b.Fatal(err)
		}
		if err := g.WriteGFF3(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := g.WriteFASTA(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGeneModels checks every coding transcript translates cleanly: ATG
// start, one stop at the end, no internal stop, CDS length a multiple of 3,
// canonical splice sites, and GFF3 phases consistent with the CDS.
func TestGeneModels(t *testing.T) {
	g, gff, _, _, _, _ := genAll(t, Small())
	var coding, noncoding, multiExon, minus, alt, ri int
	for _, gn := range g.Genes() {
		s := g.Sequence(gn.Chrom)
		if gn.Strand == '-' {
			minus++
		}
		if len(gn.Transcripts) > 1 {
			alt++
		}
		for _, tx := range gn.Transcripts {
			if len(tx.Exons) > 1 {
				multiExon++
			}
			if tx.Biotype == "retained_intron" {
				ri++
			}
			for i := 0; i+1 < len(tx.Exons); i++ {
				intron := string(s[tx.Exons[i].End : tx.Exons[i+1].Start-1])
				donor, acceptor := intron[:2], intron[len(intron)-2:]
				if gn.Strand == '-' {
					donor, acceptor = string(revcomp([]byte(acceptor))), string(revcomp([]byte(donor)))
				}
				if donor != "GT" || acceptor != "AG" {
					t.Fatalf("%s intron %d: %s..%s", tx.ID, i, donor, acceptor)
				}
			}
			if !tx.Coding() {
				noncoding++
				continue
			}
			coding++
			var cds []byte
			for _, e := range tx.Exons {
				if a, b := max(e.Start, tx.CDSStart), min(e.End, tx.CDSEnd); a <= b {
					cds = append(cds, s[a-1:b]...)
				}
			}
			if gn.Strand == '-' {
				cds = revcomp(cds)
			}
			if len(cds)%3 != 0 || len(cds) < 9 {
				t.Fatalf("%s: CDS length %d", tx.ID, len(cds))
			}
			if string(cds[:3]) != "ATG" || !codonTable[string(cds[len(cds)-3:])] {
				t.Fatalf("%s: CDS %s...%s", tx.ID, cds[:3], cds[len(cds)-3:])
			}
			for i := 3; i < len(cds)-3; i += 3 {
				if codonTable[string(cds[i:i+3])] {
					t.Fatalf("%s: internal stop at codon %d", tx.ID, i/3)
				}
			}
		}
	}
	if coding < 40 || noncoding < 5 || minus < 10 || alt < 5 || ri < 2 || multiExon < 40 {
		t.Errorf("too little variety: coding %d noncoding %d minus-strand genes %d multi-isoform genes %d retained-intron %d multi-exon %d",
			coding, noncoding, minus, alt, ri, multiExon)
	}
	// phases: for each CDS line, (phase + preceding CDS bases) % 3 == 0
	done := map[string]int64{}
	var lines [][]string
	for _, l := range strings.Split(string(gff), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 9 && f[2] == "CDS" {
			lines = append(lines, f)
		}
	}
	// transcript order: + ascending as written, - needs reverse per transcript
	byTx := map[string][][]string{}
	var order []string
	for _, f := range lines {
		p := regexp.MustCompile(`Parent=transcript:([^;]+)`).FindStringSubmatch(f[8])[1]
		if _, ok := byTx[p]; !ok {
			order = append(order, p)
		}
		byTx[p] = append(byTx[p], f)
	}
	for _, tx := range order {
		fs := byTx[tx]
		if fs[0][6] == "-" {
			for i, j := 0, len(fs)-1; i < j; i, j = i+1, j-1 {
				fs[i], fs[j] = fs[j], fs[i]
			}
		}
		for _, f := range fs {
			a, _ := strconv.ParseInt(f[3], 10, 64)
			b, _ := strconv.ParseInt(f[4], 10, 64)
			ph, _ := strconv.Atoi(f[7])
			if (done[tx]+int64(ph))%3 != 0 {
				t.Fatalf("%s: phase %d after %d CDS bases", tx, ph, done[tx])
			}
			done[tx] += b - a + 1
		}
	}
}

func TestVariants(t *testing.T) {
	cfg := Small()
	cfg.Variants = 5000
	g, _, vcf, known, truth, st := genAll(t, cfg)
	if st.Records != cfg.Variants {
		t.Fatalf("wrote %d records want %d", st.Records, cfg.Variants)
	}
	if got, want := float64(st.Inside)/float64(st.Records), cfg.CodingFrac; got < want-0.01 || got > want+0.01 {
		t.Errorf("inside fraction %.3f want %.2f", got, want)
	}
	if st.Ins == 0 || st.Del == 0 || st.MNV == 0 || st.Multi == 0 {
		t.Errorf("missing variant kinds: %+v", st)
	}
	lastChrom, lastPos := "", int64(0)
	sc := bufio.NewScanner(bytes.NewReader(vcf))
	n := 0
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		n++
		f := strings.Split(l, "\t")
		pos, _ := strconv.ParseInt(f[1], 10, 64)
		if f[0] == lastChrom && pos <= lastPos {
			t.Fatalf("unsorted or duplicate position at %s:%d", f[0], pos)
		}
		lastChrom, lastPos = f[0], pos
		s := g.Sequence(f[0])
		if string(s[pos-1:pos-1+int64(len(f[3]))]) != f[3] {
			t.Fatalf("REF %s disagrees with genome at %s:%d", f[3], f[0], pos)
		}
	}
	if n != cfg.Variants {
		t.Fatalf("counted %d records", n)
	}
	// every expected known ID appears in the known VCF
	knownIDs := map[string]bool{}
	for _, l := range strings.Split(string(known), "\n") {
		if f := strings.Split(l, "\t"); len(f) > 2 && !strings.HasPrefix(l, "#") {
			for _, id := range strings.Split(f[2], ";") {
				knownIDs[id] = true
			}
		}
	}
	nk := 0
	for _, l := range strings.Split(strings.TrimSpace(string(truth)), "\n") {
		f := strings.Split(l, "\t")
		if f[4] != "." {
			nk++
			if !knownIDs[f[4]] {
				t.Fatalf("truth ID %s missing from known VCF", f[4])
			}
		}
	}
	if nk != st.KnownAlleles || nk == 0 {
		t.Errorf("truth has %d known alleles, stats %d", nk, st.KnownAlleles)
	}
}

func TestSampleVCF(t *testing.T) {
	g, _ := New(Small())
	for _, size := range []int{4 << 10, 150<<10 + 1} {
		var b bytes.Buffer
		if err := g.WriteSampleVCF(&b, size); err != nil {
			t.Fatal(err)
		}
		if b.Len() < size || b.Len() > size+200 {
			t.Errorf("sample for %d bytes is %d bytes", size, b.Len())
		}
		if !bytes.HasPrefix(b.Bytes(), []byte("##fileformat=VCFv4.2\n")) {
			t.Error("sample lacks fileformat line")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Chroms = 0 },
		func(c *Config) { c.ChromLen = 100 },
		func(c *Config) { c.GenesPerChrom = 1000 },
		func(c *Config) { c.IndelFrac = 2 },
		func(c *Config) { c.Variants = -1 },
		func(c *Config) { c.NoncodingBiotype = "" },
	}
	for i, f := range bad {
		c := Small()
		f(&c)
		if _, err := New(c); err == nil {
			t.Errorf("case %d: invalid config accepted", i)
		}
	}
}

// TestBcftoolsAcceptsModels runs bcftools csq on the small reference: every
// transcript must be indexed and no biotype ignored.
func TestBcftoolsAcceptsModels(t *testing.T) {
	bcf, err := exec.LookPath("bcftools")
	if err != nil {
		t.Skip("bcftools not installed; skipping the oracle check of the synthetic GFF3")
	}
	dir := t.TempDir()
	f, err := WriteFiles(dir, Small(), FileOptions{BGZFVariants: true})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := New(Small())
	out, err := exec.Command(bcf, "csq", "-l", "-f", f.FASTA, "-g", f.GFF3, f.Variants, "-Ov", "-o", filepath.Join(dir, "out.vcf")).CombinedOutput()
	if err != nil {
		t.Fatalf("bcftools csq: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Ignored")) {
		t.Errorf("bcftools ignored part of the models:\n%s", out)
	}
	want := fmt.Sprintf("Indexed %d transcripts", g.TranscriptCount())
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("bcftools output lacks %q:\n%s", want, out)
	}
	res, _ := os.ReadFile(filepath.Join(dir, "out.vcf"))
	for _, c := range []string{"missense", "synonymous", "frameshift", "stop_gained", "splice_", "5_prime_utr", "3_prime_utr", "non_coding", "intron"} {
		if !bytes.Contains(res, []byte(c)) {
			t.Errorf("no %s consequence in bcftools output", c)
		}
	}
}
