package tabix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/synth"
)

// makeVCF writes a sorted BGZF VCF with records of varied lengths (long
// deletions, END= records) over three chromosomes and returns its lines.
func makeVCF(t testing.TB, path string, n int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 1))
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	var lines []string
	for _, chrom := range []string{"chr1", "chr2", "chrX"} {
		pos := int64(1)
		for i := 0; i < n/3; i++ {
			pos += int64(rng.IntN(400))
			ref := "A"
			info := "."
			switch rng.IntN(20) {
			case 0:
				ref = strings.Repeat("C", 1+rng.IntN(3000)) // long deletion spans windows
			case 1:
				info = fmt.Sprintf("SVTYPE=DEL;END=%d", pos+int64(rng.IntN(100000)))
			}
			l := fmt.Sprintf("%s\t%d\t.\t%s\tG\t.\t.\t%s", chrom, pos, ref, info)
			lines = append(lines, l)
			b.WriteString(l + "\n")
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := bgzf.NewWriter(f, bgzf.WithWriterWorkers(2))
	w.Write(b.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return lines
}

// brute lists the lines overlapping a region by scanning everything.
func brute(lines []string, chrom string, beg, end int64) []string {
	var out []string
	for _, l := range lines {
		rec, _ := ParseRecord(VCFConf, []byte(l))
		if string(rec.Chrom) == chrom && rec.Beg < end && rec.End > beg {
			out = append(out, l)
		}
	}
	return out
}

func query(t testing.TB, ix *Index, path, chrom string, beg, end int64) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr := bgzf.NewReader(f, bgzf.WithWorkers(1))
	it := ix.Query(zr, chrom, beg, end)
	var out []string
	for {
		l, err := it.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(l))
	}
}

type region struct {
	chrom    string
	beg, end int64
}

func regions(n int) []region {
	rng := rand.New(rand.NewPCG(7, 7))
	var out []region
	for i := 0; i < n; i++ {
		c := []string{"chr1", "chr2", "chrX", "chrY"}[rng.IntN(4)]
		b := rng.Int64N(1_400_000)
		out = append(out, region{c, b, b + 1 + rng.Int64N([]int64{10, 1000, 100000}[rng.IntN(3)])})
	}
	return out
}

func TestBuildAndQuery(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.vcf.gz")
	lines := makeVCF(t, path, 12000)
	f, _ := os.Open(path)
	ix, err := Build(f, VCFConf)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ix.Names(), ","); got != "chr1,chr2,chrX" {
		t.Fatalf("names %s", got)
	}
	// round trip through the file format
	var buf bytes.Buffer
	if err := ix.Write(&buf); err != nil {
		t.Fatal(err)
	}
	ix2, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regions(300) {
		want := brute(lines, r.chrom, r.beg, r.end)
		got := query(t, ix2, path, r.chrom, r.beg, r.end)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%v: got %d lines want %d", r, len(got), len(want))
		}
	}
}

// TestHTSlibInterop: tabix answers queries correctly with our index, and we
// answer them correctly with tabix's index.
func TestHTSlibInterop(t *testing.T) {
	tabixBin, err := exec.LookPath("tabix")
	if err != nil {
		t.Skip("tabix (Debian package tabix) not installed; skipping htslib interop check")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.vcf.gz")
	lines := makeVCF(t, ours, 9000)
	if err := IndexFile(ours); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "theirs.vcf.gz")
	data, _ := os.ReadFile(ours)
	os.WriteFile(theirs, data, 0o644)
	if out, err := exec.Command(tabixBin, "-p", "vcf", theirs).CombinedOutput(); err != nil {
		t.Fatalf("tabix -p vcf: %v %s", err, out)
	}
	if out, err := exec.Command(tabixBin, "-l", ours).Output(); err != nil || string(out) != "chr1\nchr2\nchrX\n" {
		t.Fatalf("tabix -l with our index: %v %q", err, out)
	}
	their, err := ReadFile(theirs + ".tbi")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range regions(60) {
		want := brute(lines, r.chrom, r.beg, r.end)
		out, err := exec.Command(tabixBin, ours, fmt.Sprintf("%s:%d-%d", r.chrom, r.beg+1, r.end)).Output()
		if err != nil {
			t.Fatalf("tabix query: %v", err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(out) == 0 {
			got = nil
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("region %d %v: tabix with our index gave %d lines, want %d", i, r, len(got), len(want))
		}
		if mine := query(t, their, theirs, r.chrom, r.beg, r.end); strings.Join(mine, "\n") != strings.Join(want, "\n") {
			t.Fatalf("region %d %v: our query with tabix's index gave %d lines, want %d", i, r, len(mine), len(want))
		}
	}
}

func TestUnsortedRefused(t *testing.T) {
	for name, body := range map[string]string{
		"position": "chr1\t100\t.\tA\tG\t.\t.\t.\nchr1\t50\t.\tA\tG\t.\t.\t.\n",
		"chrom":    "chr1\t100\t.\tA\tG\t.\t.\t.\nchr2\t50\t.\tA\tG\t.\t.\t.\nchr1\t200\t.\tA\tG\t.\t.\t.\n",
	} {
		var b bytes.Buffer
		w, _ := bgzf.NewWriter(&b)
		w.Write([]byte("#CHROM\n" + body))
		w.Close()
		if _, err := Build(&b, VCFConf); !errors.Is(err, ErrUnsorted) {
			t.Errorf("%s: got %v want ErrUnsorted", name, err)
		}
	}
}

func TestParseRecord(t *testing.T) {
	cases := []struct {
		line     string
		beg, end int64
	}{
		{"1\t100\t.\tA\tG", 99, 100},
		{"1\t100\t.\tACGT\tA\t.\t.\tDP=3", 99, 103},
		{"1\t100\t.\tN\t<DEL>\t.\t.\tSVTYPE=DEL;END=500", 99, 500},
	}
	for _, c := range cases {
		r, err := ParseRecord(VCFConf, []byte(c.line))
		if err != nil || r.Beg != c.beg || r.End != c.end {
			t.Errorf("%q: got %d-%d %v", c.line, r.Beg, r.End, err)
		}
	}
	for _, bad := range []string{"1", "1\tx\t.\tA\tG"} {
		if _, err := ParseRecord(VCFConf, []byte(bad)); !errors.Is(err, ErrRecord) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestSyntheticKnownFile indexes the synthetic benchmark's known-variants
// file: the index writer must cope with its tens of thousands of records.
func TestSyntheticKnownFile(t *testing.T) {
	cfg := synth.Small()
	cfg.Variants = 40000
	g, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var plain, known bytes.Buffer
	if _, err := g.WriteVariants(io.Discard, synth.VariantOptions{Known: &plain}); err != nil {
		t.Fatal(err)
	}
	w, _ := bgzf.NewWriter(&known)
	w.Write(plain.Bytes())
	w.Close()
	ix, err := Build(bytes.NewReader(known.Bytes()), VCFConf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	var data []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			data = append(data, l)
		}
	}
	path := filepath.Join(t.TempDir(), "k.vcf.gz")
	os.WriteFile(path, known.Bytes(), 0o644)
	for _, r := range []region{{"chr1", 0, 300000}, {"chr2", 123456, 124000}, {"chr2", 299000, 300000}} {
		want := brute(data, r.chrom, r.beg, r.end)
		if got := query(t, ix, path, r.chrom, r.beg, r.end); len(got) != len(want) || len(want) == 0 {
			t.Errorf("%v: %d lines want %d", r, len(got), len(want))
		}
	}
}

func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "v.vcf.gz")
	makeVCF(f, path, 300)
	fh, _ := os.Open(path)
	ix, err := Build(fh, VCFConf)
	fh.Close()
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	ix.Write(&buf)
	zr := bgzf.NewReader(bytes.NewReader(buf.Bytes()))
	raw, _ := io.ReadAll(zr)
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte("TBI\x01"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ix, err := parse(raw)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		for _, n := range ix.Names() {
			ix.Chunks(n, 0, 1<<20)
		}
		var out bytes.Buffer
		if err := ix.Write(&out); err != nil {
			t.Fatal(err)
		}
	})
}

func TestChunksUnknownChrom(t *testing.T) {
	ix := NewIndexer(VCFConf).Finish()
	if _, ok := ix.Chunks("chr1", 0, 10); ok {
		t.Error("unknown chromosome reported present")
	}
	_ = strconv.Itoa
}

// FuzzParseRecord: any line parses or fails with ErrRecord, and a parsed
// record has a non-empty span inside the addressable range.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("chr1\t100\t.\tACGT\tA\t.\t.\tEND=300"))
	f.Add([]byte("1\t0\t.\tA\tG"))
	f.Add([]byte("x\t-5"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(VCFConf, line)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if r.Beg < 0 || r.End <= r.Beg || r.End > MaxPosition {
			t.Fatalf("bad span %d-%d", r.Beg, r.End)
		}
	})
}
