package engine

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gasproject/gas/adapters/engine/synth"
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
	set, err := synth.InMemory(synth.Benchmark(100_000))
	if err != nil {
		b.Fatal(err)
	}
	return set.GFF3, set.FASTA, set.VCF
}

// BenchmarkAnnotate times the annotation pipeline on the benchmark set
// (GAS_PERF_DIR=/tmp/bench GAS_PERF_N=1000000 after `gas bench --keep
// --dir /tmp/bench`), or on a generated 100k set.
func BenchmarkAnnotate(b *testing.B) {
	gff, fa, vcf := benchFiles(b)
	ref, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTA: bytes.NewReader(fa)})
	if err != nil {
		b.Fatal(err)
	}
	// one worker: the figure is the CPU cost per input byte
	e, err := New(ref, Options{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(vcf)))
	for b.Loop() {
		if _, err := e.Annotate(context.Background(), bytes.NewReader(vcf), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildReference times loading the reference: GFF3 and a
// streamed FASTA, and with GAS_PERF_DIR also the FASTA through its .fai.
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
