package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/gasproject/gas/adapters/engine/synth"
)

// TestEngineReusesBuffersSafely: one Engine runs jobs that fail part-way,
// are cancelled, and run concurrently in a mix of sizes; every output must
// equal a fresh Engine's, so no pooled buffer leaks data between jobs.
func TestEngineReusesBuffersSafely(t *testing.T) {
	cfg := synth.Small()
	cfg.Variants = 20000
	files, err := synth.WriteFiles(t.TempDir(), cfg, synth.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadRef(t, files.GFF3, files.FASTA)
	big, _ := os.ReadFile(files.Variants)
	small := smallVCF(big, 8<<10)
	want := map[string][]byte{}
	for name, in := range map[string][]byte{"big": big, "small": small} {
		out, err := annotate(t, ref, Options{Workers: 1}, in)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = out
	}
	e, err := New(ref, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	// a job failing on a malformed line after several batches
	cut := bytes.IndexByte(big[len(big)*3/4:], '\n') + len(big)*3/4 + 1
	bad := append(append([]byte(nil), big[:cut]...), "chr1\tnotapos\t.\tA\tG\t.\t.\t.\n"...)
	bad = append(bad, big[cut:]...)
	if _, err := e.Annotate(context.Background(), bytes.NewReader(bad), io.Discard); err == nil {
		t.Fatal("malformed job succeeded")
	}
	// a cancelled job
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Annotate(ctx, bytes.NewReader(big), io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled job: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		name := "small"
		if i%3 == 0 {
			name = "big"
		}
		in := big
		if name == "small" {
			in = small
		}
		wg.Go(func() {
			var out bytes.Buffer
			if _, err := e.Annotate(context.Background(), bytes.NewReader(in), &out); err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(out.Bytes(), want[name]) {
				t.Errorf("job %d (%s): output differs from a fresh engine's", i, name)
			}
		})
	}
	wg.Wait()
}

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
