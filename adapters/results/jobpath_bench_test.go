package results_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/enginetest"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/ports"
)

// BenchmarkJobPath compares, in one run, the engine alone (what `gas
// annotate` does: the annotated VCF to nowhere) with the job path (the
// same engine through results: the VCF streamed to the object store and
// the variant index built from the engine's rows) on the benchmark
// reference (synth.Benchmark) with GAS_BENCH_VARIANTS variants (default
// 100,000). The store keeps the input and streams what is put to nowhere
// (counting it), so the figure is the path's own work, not an in-memory
// store's buffering. Between the two, what the variant index costs in the
// pipeline: the engine handing its rows to a table that ignores them
// (engine-table), and to the index builder writing to nowhere
// (engine-builder). On the 2-CPU development VM, 1M variants, CPU-s per
// job: engine 0.20, engine-table 0.22, engine-builder 0.33, job 0.35 —
// the builder's own work is about 0.05 (BenchmarkBuildEngineRows in
// adapters/vartable); the rest is the workers slowing down when another
// core reads the rows they write, and rewriting those rows' memory after:
//
//	GAS_BENCH_VARIANTS=1000000 go test -run XXX -bench JobPath -benchtime 5x ./adapters/results
func BenchmarkJobPath(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("GAS_BENCH_VARIANTS")); err == nil && v > 0 {
		n = v
	}
	eng, vcf := enginetest.Benchmark(b, n)
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		b.SetBytes(int64(len(vcf)))
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := eng.AnnotateJob(ctx, bytes.NewReader(vcf), io.Discard, engine.Job{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine-table", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := eng.AnnotateJob(ctx, bytes.NewReader(vcf), io.Discard, engine.Job{Table: ignoredTable{}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine-builder", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			ix := vartable.NewBuilder(io.Discard, vartable.BuildOptions{})
			_, err := eng.AnnotateJob(ctx, bytes.NewReader(vcf), io.Discard, engine.Job{Table: ix})
			if err == nil {
				err = ix.Finish()
			}
			ix.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("job", func(b *testing.B) {
		b.SetBytes(int64(len(vcf)))
		defer reportCPU(b)()
		for b.Loop() {
			b.StopTimer()
			objects := &drain{input: vcf, sizes: map[string]int64{}}
			a, err := results.New(objects, results.Engines{eng}, results.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(objects.sizes[keys.Index])/float64(n), "index-B/variant")
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

// drain is an object store holding one input ("in") whose Puts read to
// the end and keep only the size.
type drain struct {
	ports.ObjectStore
	input []byte
	mu    sync.Mutex
	sizes map[string]int64
}

func (d *drain) Get(_ context.Context, key string) (io.ReadCloser, error) {
	if key != "in" {
		return nil, ports.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(d.input)), nil
}

func (d *drain) Put(_ context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	n, err := io.Copy(io.Discard, r)
	d.mu.Lock()
	d.sizes[key] = n
	d.mu.Unlock()
	return ports.ObjectInfo{Key: key, Size: n}, err
}

// ignoredTable takes the engine's rows and does nothing with them.
type ignoredTable struct{}

func (ignoredTable) Start(*vartable.Vocabulary, int64) error       { return nil }
func (ignoredTable) Lines([]vartable.Line, []vartable.Entry) error { return nil }
