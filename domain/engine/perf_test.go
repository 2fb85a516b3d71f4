package engine

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gasproject/gas/domain/engine/bgzf"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gasproject/gas/domain/engine/synth"
)

// benchFiles returns a reference and a VCF for the annotate benchmark: the
// files in $GAS_PERF_DIR (ref/genes.gff3, ref/genome.fa, variants-N.vcf as
// written by `gas bench --keep`) when set, else a generated 100k set.
func benchFiles(b *testing.B) (gff, fa, vcf []byte) {
	b.Helper()
	if d := os.Getenv("GAS_PERF_DIR"); d != "" {
		n := os.Getenv("GAS_PERF_N")
		if n == "" {
			n = "1000000"
		}
		read := func(p string) []byte {
			x, err := os.ReadFile(filepath.Join(d, p))
			if err != nil {
				b.Skipf("GAS_PERF_DIR: %v", err)
			}
			return x
		}
		return read("ref/genes.gff3"), read("ref/genome.fa"), read("variants-" + n + ".vcf")
	}
	g, err := synth.New(synth.Benchmark(100_000))
	if err != nil {
		b.Fatal(err)
	}
	var gb, fb, vb bytes.Buffer
	if err := g.WriteGFF3(&gb); err != nil {
		b.Fatal(err)
	}
	if err := g.WriteFASTA(&fb); err != nil {
		b.Fatal(err)
	}
	if _, err := g.WriteVariants(&vb, synth.VariantOptions{}); err != nil {
		b.Fatal(err)
	}
	return gb.Bytes(), fb.Bytes(), vb.Bytes()
}

func BenchmarkAnnotate(b *testing.B) {
	gff, fa, vcf := benchFiles(b)
	ref, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTA: bytes.NewReader(fa)})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range []int{1} {
		e, err := New(ref, Options{Workers: w})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("workers", func(b *testing.B) {
			b.SetBytes(int64(len(vcf)))
			for b.Loop() {
				if _, err := e.Annotate(context.Background(), bytes.NewReader(vcf), io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuildReference(b *testing.B) {
	gff, fa, _ := benchFiles(b)
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTA: bytes.NewReader(fa)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	d := os.Getenv("GAS_PERF_DIR")
	if d == "" {
		return
	}
	b.Run("fai", func(b *testing.B) {
		for b.Loop() {
			ff, err := os.Open(filepath.Join(d, "ref/genome.fa"))
			if err != nil {
				b.Fatal(err)
			}
			fai, err := os.Open(filepath.Join(d, "ref/genome.fa.fai"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTAAt: ff, FAI: fai}); err != nil {
				b.Fatal(err)
			}
			ff.Close()
			fai.Close()
		}
	})
}

func BenchmarkBGZFOut(b *testing.B) {
	p := os.Getenv("GAS_PERF_OUT")
	if p == "" {
		b.Skip("GAS_PERF_OUT not set")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		b.Skip(err)
	}
	for _, lvl := range []int{-2, 1} {
		b.Run(fmt.Sprint(lvl), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var n countW
			for b.Loop() {
				n = 0
				zw, _ := bgzf.NewWriter(&n, bgzf.WithWriterWorkers(1), bgzf.WithLevel(lvl))
				zw.Write(data)
				zw.Close()
			}
			b.ReportMetric(float64(n)/float64(len(data)), "ratio")
		})
	}
}

type countW int

func (c *countW) Write(p []byte) (int, error) { *c += countW(len(p)); return len(p), nil }

// TestFindTabs: the word-at-a-time tab finder agrees with a byte loop on
// every length and tab placement, including tabs in the last partial word.
func TestFindTabs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 2000; n++ {
		l := make([]byte, rng.IntN(70))
		for i := range l {
			switch rng.IntN(4) {
			case 0:
				l[i] = '\t'
			case 1:
				l[i] = byte(rng.IntN(256))
			default:
				l[i] = "ACGT.chr0123456789"[rng.IntN(18)]
			}
		}
		var want []int
		for i, c := range l {
			if c == '\t' && len(want) < 8 {
				want = append(want, i)
			}
		}
		var tabs [8]int
		k := findTabs(l, &tabs)
		if k != len(want) {
			t.Fatalf("%q: %d tabs, want %d", l, k, len(want))
		}
		for i := range want {
			if tabs[i] != want[i] {
				t.Fatalf("%q: tab %d at %d, want %d", l, i, tabs[i], want[i])
			}
		}
	}
}

func BenchmarkSeqSorted(b *testing.B) {
	gff, fa, _ := benchFiles(b)
	ref, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTA: bytes.NewReader(fa)})
	if err != nil {
		b.Fatal(err)
	}
	n := int32(ref.Chroms[0].Length)
	b.ResetTimer()
	var hits int
	for b.Loop() {
		for p := int32(1); p < n; p += 20 {
			if ref.Seq(0, p, p) != nil {
				hits++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n/20), "ns/lookup")
}

// TestParsePos: the eight-bytes-at-a-time position parser agrees with a
// digit loop on every length, with and without room to load eight bytes,
// and refuses anything that is not all digits.
func TestParsePos(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ref := func(b []byte) (int64, bool) {
		if len(b) == 0 || len(b) > 10 {
			return 0, false
		}
		var v int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		return v, true
	}
	for n := 0; n < 200_000; n++ {
		field := make([]byte, rng.IntN(12))
		for i := range field {
			field[i] = byte('0' + rng.IntN(10))
			if rng.IntN(40) == 0 {
				field[i] = byte(rng.IntN(256))
			}
		}
		pre := []byte("chr1\t")[:rng.IntN(6)]
		post := []byte("\t.\tA\tC\t.\t.\t.")[:rng.IntN(13)]
		l := append(append(append([]byte(nil), pre...), field...), post...)
		got, gok := parsePos(l, len(pre), len(pre)+len(field))
		want, wok := ref(field)
		if got != want || gok != wok {
			t.Fatalf("%q: %d %v, want %d %v", field, got, gok, want, wok)
		}
	}
}
