package bgzf

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// inflate decodes a raw deflate stream with compress/flate.
func inflate(t testing.TB, z []byte) []byte {
	t.Helper()
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil {
		t.Fatalf("compress/flate rejects our stream: %v", err)
	}
	return got
}

// checkEncode encodes src with e, checks the size bound and that
// compress/flate decodes it back to src.
func checkEncode(t testing.TB, e *fastEncoder, src []byte) []byte {
	t.Helper()
	prefix := []byte("keep")
	z := e.encode(append([]byte(nil), prefix...), src)
	if !bytes.HasPrefix(z, prefix) {
		t.Fatal("encode clobbered dst")
	}
	z = z[len(prefix):]
	if len(z) > storedSize(len(src)) {
		t.Fatalf("%d bytes encoded to %d, more than stored (%d)", len(src), len(z), storedSize(len(src)))
	}
	if got := inflate(t, z); !bytes.Equal(got, src) {
		t.Fatalf("round trip of %d bytes differs (got %d bytes)", len(src), len(got))
	}
	return z
}

func TestFastEncoderEdgeCases(t *testing.T) {
	rnd := randomBytes(BlockDataSize, 9)
	inputs := map[string][]byte{
		"empty":        nil,
		"one byte":     []byte("a"),
		"short":        []byte("abcdefg"),
		"period 4":     []byte("abcdabcdabcdabcdabcd"),
		"random":       rnd,
		"random small": rnd[:1000],
		"one symbol":   bytes.Repeat([]byte{'A'}, BlockDataSize),
		"two symbols":  bytes.Repeat([]byte("AB"), BlockDataSize/2),
		"all bytes": func() []byte {
			b := make([]byte, 256*3)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"ACGT runs":   bytes.Repeat([]byte("ACGT|"), 13056),
		"max match":   bytes.Repeat([]byte("0123456789abcdef"), 4000),
		"long window": append(append(randomBytes(40000, 1), randomBytes(20000, 2)...), randomBytes(5000, 1)...),
		"stored max":  randomBytes(maxStored, 4),
		"over stored": randomBytes(maxStored+100, 5),
		"skewed": func() []byte {
			// frequencies 1,2,4,8,... force code lengths past 15 before limiting
			var b []byte
			for s := 0; s < 24; s++ {
				b = append(b, bytes.Repeat([]byte{byte('a' + s)}, 1<<s>>8+1)...)
			}
			r := rand.New(rand.NewPCG(1, 1))
			r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
			return b[:min(len(b), BlockDataSize)]
		}(),
		"annotated": annotatedLike(BlockDataSize, 1),
	}
	var e fastEncoder
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			checkEncode(t, &e, in)
			checkEncode(t, new(fastEncoder), in)
		})
	}
}

// TestFastEncoderStoresIncompressible: random data must fall back to a
// stored block, so a full BGZF block never exceeds the 64 KiB limit.
func TestFastEncoderStoresIncompressible(t *testing.T) {
	var e fastEncoder
	src := randomBytes(BlockDataSize, 7)
	z := checkEncode(t, &e, src)
	if len(z) != storedSize(len(src)) || z[0]&7 != 1 {
		t.Fatalf("random block: %d bytes, first byte %#x; want a final stored block of %d", len(z), z[0], storedSize(len(src)))
	}
	if headerSize+len(z)+trailerSize > MaxBlockSize {
		t.Fatalf("stored block of %d does not fit a BGZF block", len(z))
	}
}

// TestFastEncoderCompresses guards the ratio on genomic-like text: within
// a few percent of compress/flate level 1.
func TestFastEncoderCompresses(t *testing.T) {
	data := annotatedLike(4<<20, 3)
	var e fastEncoder
	var ours, std int
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	for p := data; len(p) > 0; {
		k := min(len(p), BlockDataSize)
		ours += len(checkEncode(t, &e, p[:k]))
		buf.Reset()
		fw.Reset(&buf)
		fw.Write(p[:k])
		fw.Close()
		std += buf.Len()
		p = p[k:]
	}
	t.Logf("annotated-like %d bytes: fast %d (%.1f %%), flate level 1 %d (%.1f %%)",
		len(data), ours, 100*float64(ours)/float64(len(data)), std, 100*float64(std)/float64(len(data)))
	if float64(ours) > 1.10*float64(std) {
		t.Fatalf("fast encoder output %d is more than 10%% above flate level 1's %d", ours, std)
	}
}

// TestWriterLevels: every level round-trips through the Writer and Reader.
func TestWriterLevels(t *testing.T) {
	data := append(annotatedLike(300000, 4), randomBytes(100000, 4)...)
	for _, lvl := range []int{FastLevel, flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
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

// TestFastLevelHTSlibInterop: bgzip -t accepts the default (fast) output of
// a VCF, tabix indexes it and answers a region query with the right lines.
func TestFastLevelHTSlibInterop(t *testing.T) {
	bgzip, err1 := exec.LookPath("bgzip")
	tabix, err2 := exec.LookPath("tabix")
	if err1 != nil || err2 != nil {
		t.Skip("bgzip/tabix (Debian package tabix) not installed; skipping htslib interop check")
	}
	body := annotatedLike(3<<20, 5)
	body = body[:bytes.LastIndexByte(body, '\n')+1]
	vcf := append([]byte("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"), body...)
	dir := t.TempDir()
	path := filepath.Join(dir, "fast.vcf.gz")
	if err := os.WriteFile(path, compress(t, vcf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bgzip, "-t", path).CombinedOutput(); err != nil {
		t.Fatalf("bgzip -t rejects fast-level output: %v %s", err, out)
	}
	if out, err := exec.Command(tabix, "-p", "vcf", path).CombinedOutput(); err != nil {
		t.Fatalf("tabix cannot index fast-level output: %v %s", err, out)
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

// FuzzFastEncoder: any block round-trips through compress/flate's decoder
// and never exceeds its stored size. The encoder is reused across inputs,
// as a Writer reuses it across blocks.
func FuzzFastEncoder(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("abcabcabcabcabcabcabc"))
	f.Add(annotatedLike(20000, 6))
	f.Add(randomBytes(3000, 6))
	f.Add(testData(BlockDataSize, 6))
	var e fastEncoder
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > BlockDataSize {
			in = in[:BlockDataSize]
		}
		checkEncode(t, &e, in)
	})
}

// BenchmarkBlockEncoders compares the block encoders on annotated-VCF-like
// text, or on the first 32 MB of the file named by GAS_BGZF_BENCH_DATA
// (e.g. a plain gas annotate output of the 1M benchmark set).
func BenchmarkBlockEncoders(b *testing.B) {
	data := annotatedLike(16<<20, 1)
	if p := os.Getenv("GAS_BGZF_BENCH_DATA"); p != "" {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		data = d[:min(len(d), 32<<20)]
	}
	b.Run("fast", func(b *testing.B) {
		var e fastEncoder
		out := make([]byte, 0, MaxBlockSize)
		b.SetBytes(int64(len(data)))
		n := 0
		for b.Loop() {
			n = 0
			for p := data; len(p) > 0; p = p[min(len(p), BlockDataSize):] {
				out = e.encode(out[:0], p[:min(len(p), BlockDataSize)])
				n += len(out)
			}
		}
		b.ReportMetric(100*float64(n)/float64(len(data)), "%size")
	})
	for _, lvl := range []int{flate.BestSpeed, flate.DefaultCompression} {
		b.Run(fmt.Sprintf("flate%d", lvl), func(b *testing.B) {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, lvl)
			b.SetBytes(int64(len(data)))
			n := 0
			for b.Loop() {
				n = 0
				for p := data; len(p) > 0; p = p[min(len(p), BlockDataSize):] {
					buf.Reset()
					fw.Reset(&buf)
					fw.Write(p[:min(len(p), BlockDataSize)])
					fw.Close()
					n += buf.Len()
				}
			}
			b.ReportMetric(100*float64(n)/float64(len(data)), "%size")
		})
	}
}
