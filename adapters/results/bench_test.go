package results_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/enginetest"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// BenchmarkJobResults compares, in one run, the engine annotating the
// benchmark set to io.Discard (its own cost) with a whole job's results
// step on the disk object store local mode uses: the input read from a
// stored object, the annotated VCF stored, indexed (adapters/vartable,
// from the rows the engine hands over) and summarised. The difference is
// what the job path adds to annotation. GAS_PERF_N sets the number of
// variants (default 200,000):
//
//	GAS_PERF_N=1000000 go test -run '^$' -bench JobResults -benchtime 10x ./adapters/results
func BenchmarkJobResults(b *testing.B) {
	n := 200_000
	if s := os.Getenv("GAS_PERF_N"); s != "" {
		var err error
		if n, err = parseInt(s); err != nil {
			b.Fatal(err)
		}
	}
	eng, vcf := enginetest.Benchmark(b, n)
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		b.SetBytes(int64(len(vcf)))
		for range b.N {
			if _, err := eng.Annotate(ctx, bytes.NewReader(vcf), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The job path runs with one P per CPU and with one more, as gas
	// serve runs it (apps/gas spareProc): a goroutine blocked in the disk
	// store's fdatasync holds its P until the runtime hands it on.
	cpus := runtime.GOMAXPROCS(0)
	for _, procs := range []int{cpus, cpus + 1} {
		b.Run(fmt.Sprintf("results-disk-procs=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			benchResultsDisk(b, eng, vcf)
		})
	}
}

// benchResultsDisk runs whole jobs' results steps on a disk object store,
// each under new keys as jobs have: replacing an object would time the
// removal of the last one's blocks too.
func benchResultsDisk(b *testing.B, eng *engine.Engine, vcf []byte) {
	ctx := context.Background()
	objects, err := disk.NewObjectStore(filepath.Join(b.TempDir(), "objects"), presign.Config{Clock: memory.SystemClock{}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := objects.Put(ctx, "in", bytes.NewReader(vcf)); err != nil {
		b.Fatal(err)
	}
	a, err := results.New(objects, results.Engines{eng}, results.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(vcf)))
	b.ResetTimer()
	for i := range b.N {
		r := fmt.Sprintf("r%d/", i)
		keys := domain.ResultKeys{VCF: r + "out.vcf", Index: r + "out.idx", Summary: r + "s.json", Log: r + "s.log"}
		req := ports.AnnotationRequest{Input: "in", Keys: keys, Limits: domain.DefaultPolicy().InputLimits(domain.TierPremium)}
		if _, err := a.Annotate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func parseInt(s string) (int, error) {
	var n int
	_, err := fmt.Sscan(s, &n)
	return n, err
}
