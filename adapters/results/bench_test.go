package results_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// BenchmarkJobResults compares, in one run, the engine annotating the
// benchmark set to io.Discard (its own cost) with a whole job's results
// step on the disk object store local mode uses: the input read from a
// stored object, the annotated VCF stored, indexed (adapters/vartable,
// from the rows the engine hands over) and summarised. The difference is
// what the job path adds to annotation.
// GAS_PERF_N sets the number of variants (default 200,000).
func BenchmarkJobResults(b *testing.B) {
	n := 200_000
	if s := os.Getenv("GAS_PERF_N"); s != "" {
		var err error
		if n, err = parseInt(s); err != nil {
			b.Fatal(err)
		}
	}
	g, err := synth.New(synth.Benchmark(n))
	if err != nil {
		b.Fatal(err)
	}
	var gb, fb, vb bytes.Buffer
	for _, w := range []func() error{
		func() error { return g.WriteGFF3(&gb) }, func() error { return g.WriteFASTA(&fb) },
		func() error { _, err := g.WriteVariants(&vb, synth.VariantOptions{}); return err },
	} {
		if err := w(); err != nil {
			b.Fatal(err)
		}
	}
	ref, err := engine.BuildReference(engine.Sources{Name: "bench", Genes: &gb, FASTA: &fb})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(ref, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		b.SetBytes(int64(vb.Len()))
		for range b.N {
			if _, err := eng.Annotate(ctx, bytes.NewReader(vb.Bytes()), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("results-disk", func(b *testing.B) {
		objects, err := disk.NewObjectStore(filepath.Join(b.TempDir(), "objects"), presign.Config{Clock: memory.SystemClock{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := objects.Put(ctx, "in", bytes.NewReader(vb.Bytes())); err != nil {
			b.Fatal(err)
		}
		a, err := results.New(objects, results.Engines{eng}, results.Options{Index: vartable.BuildOptions{TempDir: b.TempDir()}})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(vb.Len()))
		b.ResetTimer()
		for range b.N {
			keys := domain.ResultKeys{VCF: "r/out.vcf", Index: "r/out.idx", Summary: "r/s.json", Log: "r/s.log"}
			req := ports.AnnotationRequest{Input: "in", Keys: keys, Limits: domain.DefaultPolicy().InputLimits(domain.TierPremium)}
			if _, err := a.Annotate(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func parseInt(s string) (int, error) {
	var n int
	_, err := fmt.Sscan(s, &n)
	return n, err
}
