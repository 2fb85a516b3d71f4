package engine

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
)

// smallVCF cuts the header and about n bytes of records from vcf.
func smallVCF(vcf []byte, n int) []byte {
	body := bytes.Index(vcf, []byte("\n#CHROM"))
	body += bytes.IndexByte(vcf[body+1:], '\n') + 2
	end := min(len(vcf), body+n)
	end = body + bytes.LastIndexByte(vcf[body:end], '\n') + 1
	return vcf[:end]
}

// BenchmarkAnnotateSmall annotates an 8 KB VCF over and over with one
// Engine, the way a local-mode server runs many small jobs: the per-job
// cost (allocations, GC) dominates. Run with -benchmem.
func BenchmarkAnnotateSmall(b *testing.B) {
	gff, fa, vcf := benchFiles(b)
	ref, err := BuildReference(Sources{Name: "bench", Genes: bytes.NewReader(gff), FASTA: bytes.NewReader(fa)})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(ref, Options{})
	if err != nil {
		b.Fatal(err)
	}
	small := smallVCF(vcf, 8<<10)
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(small)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Annotate(context.Background(), bytes.NewReader(small), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	// 16 jobs at a time, as the server's concurrent jobs do
	b.Run("concurrent16", func(b *testing.B) {
		b.SetBytes(16 * int64(len(small)))
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					if _, err := e.Annotate(context.Background(), bytes.NewReader(small), io.Discard); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		}
	})
}
