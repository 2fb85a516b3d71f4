package vartable_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/enginetest"
	"github.com/gasproject/gas/adapters/vartable"
)

// BenchmarkBuildEngineRows measures the builder alone on what the engine
// hands it for the benchmark reference (synth.Benchmark) with
// GAS_BENCH_VARIANTS variants (default 1,000,000: several runs): the
// engine's batches are recorded once and replayed into a builder per
// operation. The figure to read is cpu-ns/row, the builder's share of a
// job's CPU time:
//
//	go test -run XXX -bench BuildEngineRows ./adapters/vartable
func BenchmarkBuildEngineRows(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("GAS_BENCH_VARIANTS")); err == nil && v > 0 {
		n = v
	}
	rec := recordEngineRows(b, n)
	rows := 0
	for _, bt := range rec.batches {
		rows += len(bt.entries)
	}
	start := vartable.CPUTime()
	for b.Loop() {
		bl := vartable.NewBuilder(io.Discard, vartable.BuildOptions{})
		if err := bl.Start(rec.vocab, rec.header); err != nil {
			b.Fatal(err)
		}
		for _, bt := range rec.batches {
			if err := bl.Lines(bt.lines, bt.entries); err != nil {
				b.Fatal(err)
			}
		}
		if err := bl.Finish(); err != nil {
			b.Fatal(err)
		}
		bl.Close()
	}
	b.ReportMetric(float64(vartable.CPUTime()-start)/float64(b.N)/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(rows), "rows/op")
}

// recorder is a vartable.Sink keeping a copy of everything it is handed.
type recorder struct {
	vocab   *vartable.Vocabulary
	header  int64
	batches []batch
}

type batch struct {
	lines   []vartable.Line
	entries []vartable.Entry
}

func (r *recorder) Start(v *vartable.Vocabulary, header int64) error {
	r.vocab, r.header = v, header
	return nil
}

func (r *recorder) Lines(lines []vartable.Line, entries []vartable.Entry) error {
	bt := batch{lines: slices.Clone(lines), entries: slices.Clone(entries)}
	for i := range bt.lines {
		bt.lines[i].Chrom = slices.Clone(bt.lines[i].Chrom) // valid during the call only
	}
	r.batches = append(r.batches, bt)
	return nil
}

// recordEngineRows annotates n synthetic variants on the benchmark
// reference and records the rows the engine hands over.
func recordEngineRows(b *testing.B, n int) *recorder {
	b.Helper()
	eng, vcf := enginetest.Benchmark(b, n)
	rec := &recorder{}
	if _, err := eng.AnnotateJob(context.Background(), bytes.NewReader(vcf), io.Discard, engine.Job{Table: rec}); err != nil {
		b.Fatal(err)
	}
	return rec
}
