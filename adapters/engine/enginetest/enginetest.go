// Package enginetest builds an engine on the project's benchmark reference
// for the benchmarks of packages downstream of the engine (the results
// step, the variant index), so each measures its own work on the same
// engine output. It is separate from synth because the engine's own tests
// import synth.
package enginetest

import (
	"bytes"
	"testing"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/synth"
)

// Benchmark is an engine on the benchmark reference (synth.Benchmark) and
// n of its variants as a VCF.
func Benchmark(tb testing.TB, n int) (*engine.Engine, []byte) {
	tb.Helper()
	set, err := synth.InMemory(synth.Benchmark(n))
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := engine.BuildReference(engine.Sources{Name: "bench", Genes: bytes.NewReader(set.GFF3), FASTA: bytes.NewReader(set.FASTA)})
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.New(ref, engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return eng, set.VCF
}
