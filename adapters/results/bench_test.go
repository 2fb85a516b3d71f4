package results_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/ports"
)

// BenchmarkJobPath compares, in one run, the engine alone (what `gas
// annotate` does: the annotated VCF to nowhere) with the job path (the
// same engine through results: the VCF into object storage and the
// variant index built from the engine's rows) on the benchmark reference
// (synth.Benchmark) with GAS_BENCH_VARIANTS variants (default 100,000):
//
//	GAS_BENCH_VARIANTS=1000000 go test -run XXX -bench JobPath -benchtime 5x ./adapters/results
func BenchmarkJobPath(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("GAS_BENCH_VARIANTS")); err == nil && v > 0 {
		n = v
	}
	g, err := synth.New(synth.Benchmark(n))
	if err != nil {
		b.Fatal(err)
	}
	var gff, fa, vcf bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		b.Fatal(err)
	}
	if err := g.WriteFASTA(&fa); err != nil {
		b.Fatal(err)
	}
	if _, err := g.WriteVariants(&vcf, synth.VariantOptions{}); err != nil {
		b.Fatal(err)
	}
	ref, err := engine.BuildReference(engine.Sources{Name: "bench", Genes: &gff, FASTA: &fa})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(ref, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		b.SetBytes(int64(vcf.Len()))
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := eng.AnnotateJob(ctx, bytes.NewReader(vcf.Bytes()), io.Discard, engine.Job{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("job", func(b *testing.B) {
		b.SetBytes(int64(vcf.Len()))
		defer reportCPU(b)()
		for b.Loop() {
			b.StopTimer()
			objects, err := memory.NewObjectStore()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := objects.Put(ctx, "in", bytes.NewReader(vcf.Bytes())); err != nil {
				b.Fatal(err)
			}
			a, err := results.New(objects, results.Engines{eng}, results.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			info, _ := objects.Head(ctx, keys.Index)
			b.ReportMetric(float64(info.Size)/float64(n), "index-B/variant")
			b.StartTimer()
		}
	})
}

// reportCPU reports the process's CPU seconds (user and system) per
// operation when the returned function runs: on a shared machine the
// steadier figure than wall time. Setup done with the timer stopped is
// counted too, so keep it small.
func reportCPU(b *testing.B) func() {
	cpu := func() float64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	start := cpu()
	return func() { b.ReportMetric((cpu()-start)/float64(b.N), "cpu-s/op") }
}
