package vartable

import (
	"io"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBuild100k measures building the index of 100,000 lines
// (233,168 rows) from handed-over rows, written to nowhere; cpu-ns/row is
// the process's CPU time (the collector's included) per row, on a shared
// machine a steadier figure than ns/op. Run with:
// go test -run XXX -bench Build100k -benchmem ./adapters/vartable
func BenchmarkBuild100k(b *testing.B) {
	_, lines, entries, _ := synth(100_000, 7)
	start := cpuTime()
	for b.Loop() {
		buildAll(b, io.Discard, BuildOptions{}, testVocab, 100, lines, entries)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/float64(len(entries)), "cpu-ns/row")
	b.ReportMetric(float64(len(entries)), "rows/op")
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildAll writes the index of lines and entries, handed over in one
// batch, to w.
func buildAll(tb testing.TB, w io.Writer, opt BuildOptions, v *Vocabulary, header int64, lines []Line, entries []Entry) {
	tb.Helper()
	b := NewBuilder(w, opt)
	defer b.Close()
	if err := b.Start(v, header); err != nil {
		tb.Fatal(err)
	}
	if err := b.Lines(lines, entries); err != nil {
		tb.Fatal(err)
	}
	if err := b.Finish(); err != nil {
		tb.Fatal(err)
	}
}
