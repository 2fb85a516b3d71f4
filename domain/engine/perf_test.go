package engine

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gasproject/gas/domain/engine/bgzf"
	"io"
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
