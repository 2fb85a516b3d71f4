package bgzf

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
)

// annotatedLike makes text shaped like an annotated VCF: sorted positions,
// short alleles and long ANN fields repeating transcript and gene names.
func annotatedLike(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	bases := "ACGT"
	effects := []string{"missense_variant|MODERATE", "synonymous_variant|LOW", "intron_variant|MODIFIER",
		"upstream_gene_variant|MODIFIER", "stop_gained|HIGH", "frameshift_variant|HIGH"}
	var b bytes.Buffer
	pos := 1000
	for b.Len() < n {
		pos += 1 + rng.IntN(40)
		ref, alt := bases[rng.IntN(4)], bases[rng.IntN(4)]
		g := rng.IntN(50)
		fmt.Fprintf(&b, "chr%d\t%d\t.\t%c\t%c\t%d\tPASS\tDP=%d;ANN=", 1+pos/5_000_000, pos, ref, alt, rng.IntN(99), rng.IntN(200))
		for k := 0; k < 1+rng.IntN(4); k++ {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%c|%s|GENE%d|ENSG%011d|transcript|ENST%011d.%d|protein_coding|%d/%d|c.%d%c>%c|p.Ala%dVal|%d/%d|%d/%d|%d/%d||",
				alt, effects[rng.IntN(len(effects))], g, g, g*10+k, 1+k, 1+rng.IntN(9), 10, rng.IntN(3000), ref, alt,
				rng.IntN(1000), rng.IntN(4000), 4000, rng.IntN(3000), 3000, rng.IntN(1000), 1000)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestWriterLevels: every level round-trips through the Writer and Reader.
func TestWriterLevels(t *testing.T) {
	data := append(annotatedLike(300000, 4), randomBytes(100000, 4)...)
	for _, lvl := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		for _, ww := range []int{1, 2} {
			z := compress(t, data, WithLevel(lvl), WithWriterWorkers(ww))
			got, err := io.ReadAll(NewReader(bytes.NewReader(z)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("level %d workers %d: round trip failed: %v", lvl, ww, err)
			}
		}
	}
	if _, err := NewWriter(io.Discard, WithLevel(42)); err == nil {
		t.Fatal("level 42 accepted")
	}
}

// TestDefaultLevelHTSlibInterop: bgzip -t accepts the default-level output
// of a VCF, tabix indexes it and answers a region query with the right lines.
func TestDefaultLevelHTSlibInterop(t *testing.T) {
	bgzip, err1 := exec.LookPath("bgzip")
	tabix, err2 := exec.LookPath("tabix")
	if err1 != nil || err2 != nil {
		t.Skip("bgzip/tabix (Debian package tabix) not installed; skipping htslib interop check")
	}
	body := annotatedLike(3<<20, 5)
	body = body[:bytes.LastIndexByte(body, '\n')+1]
	vcf := append([]byte("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"), body...)
	dir := t.TempDir()
	path := filepath.Join(dir, "default.vcf.gz")
	if err := os.WriteFile(path, compress(t, vcf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bgzip, "-t", path).CombinedOutput(); err != nil {
		t.Fatalf("bgzip -t rejects default-level output: %v %s", err, out)
	}
	if out, err := exec.Command(tabix, "-p", "vcf", path).CombinedOutput(); err != nil {
		t.Fatalf("tabix cannot index default-level output: %v %s", err, out)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		var chrom string
		var pos int
		fmt.Sscanf(l, "%s\t%d", &chrom, &pos)
		if chrom == "chr1" && pos >= 50000 && pos <= 90000 {
			want = append(want, l)
		}
	}
	if len(want) == 0 {
		t.Fatal("test data has no records in the queried region")
	}
	out, err := exec.Command(tabix, path, "chr1:50000-90000").Output()
	if err != nil {
		t.Fatalf("tabix query: %v", err)
	}
	if got := strings.TrimSuffix(string(out), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("tabix returned %d lines, want %d", strings.Count(got, "\n")+1, len(want))
	}
}
