package vartable

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRunsAnswerAsOneRun: an index written in runs (chunks of 64 rows to
// more than a block of the allele bitmap, so pages of the one-row-per-
// allele view cross runs) answers every filter, sort and page exactly as
// the one-run index does, and so does a format 2 index (GAS before runs)
// of the same rows.
func TestRunsAnswerAsOneRun(t *testing.T) {
	vcf, lines, entries, _ := synth(40_000, 3)
	one := build(t, vcf, lines, entries, BuildOptions{})
	ref, _ := open(t, one)
	if len(ref.dict.Runs) != 1 {
		t.Fatalf("the default chunk wrote %d runs", len(ref.dict.Runs))
	}
	one3 := build(t, vcf, lines, entries, BuildOptions{format: 3})
	v2, _ := open(t, asFormat2(t, one3))
	v3, _ := open(t, one3)
	indexes := map[string]*Index{"format 2": v2, "format 3": v3}
	for _, chunk := range []int{64, 640, blockRows + 64} {
		for _, format := range []int{3, 4} {
			ix, _ := open(t, build(t, vcf, lines, entries, BuildOptions{ChunkRows: chunk, format: format}))
			if len(ix.dict.Runs) < 2 || ix.dict.Version != format {
				t.Fatalf("chunks of %d rows: %d runs of format %d", chunk, len(ix.dict.Runs), ix.dict.Version)
			}
			indexes[fmt.Sprintf("format %d, chunks of %d", format, chunk)] = ix
		}
	}
	ctx := context.Background()
	for name, ix := range indexes {
		for _, f := range facetOrder[:6] {
			if !slices.Equal(ix.Values(f), ref.Values(f)) {
				t.Fatalf("%s: %s values differ", name, f)
			}
		}
		for _, f := range testFilters {
			for _, s := range []SortKey{SortPosition, SortImpact, SortConsequence, SortGene, SortKnown} {
				for _, off := range []int64{0, 63, blockRows - 10, 100_000} {
					q := Query{Filter: f, Sort: s, Desc: off%2 == 1, Offset: off, Limit: 40}
					got, err := ix.Query(ctx, q)
					want, werr := ref.Query(ctx, q)
					if err != nil || werr != nil || got.Total != want.Total || !slices.EqualFunc(got.Variants, want.Variants, sameVariant) {
						t.Fatalf("%s %+v: %d rows (%v), one run %d (%v)", name, q, got.Total, err, want.Total, werr)
					}
				}
			}
		}
	}
}

// TestRunsReadOneRangeEach: a filter over many values (AF below a
// threshold reads every bucket under it) reads one range per run, not
// one per value and run. (A format 4 index reads each run's block
// table once, at its first query there; a server keeps the Index.)
func TestRunsReadOneRangeEach(t *testing.T) {
	for _, format := range []int{3, 4} {
		t.Run(fmt.Sprint("format ", format), func(t *testing.T) { testRunsReadOneRangeEach(t, format) })
	}
}

func testRunsReadOneRangeEach(t *testing.T, format int) {
	vcf, lines, entries, _ := synth(20_000, 3)
	ix, mr := open(t, build(t, vcf, lines, entries, BuildOptions{ChunkRows: 4096, format: format}))
	if _, err := ix.Query(context.Background(), Query{Filter: Filter{AFBelow: 0.5}, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	runs := int64(len(ix.dict.Runs))
	var below int64 // (value, run) pieces of the buckets under 0.5
	for _, v := range ix.dict.Facets[colAF].Values {
		if v.Code != 0 && v.Code < afCode(0.5) {
			below += int64(len(v.Runs))
		}
	}
	mr.calls.Store(0)
	p, err := ix.Query(context.Background(), Query{Filter: Filter{AFBelow: 0.5}, Limit: 10})
	if err != nil || p.Total == 0 {
		t.Fatalf("AF below 0.5: %d rows (%v)", p.Total, err)
	}
	// The buckets wholly below, then the one 0.5 falls in, then a page.
	if n := mr.calls.Load(); n > 2*runs+4 || below < 4*runs {
		t.Fatalf("%d range reads for %d runs (%d pieces under the threshold)", n, runs, below)
	}
}

func sameVariant(a, b Variant) bool {
	return a.Ordinal == b.Ordinal && a.Offset == b.Offset && a.Gene == b.Gene && slices.Equal(a.Terms, b.Terms) && a.First == b.First
}

// asFormat2 rewrites a one-run index in format 2, which has the same
// regions with the offsets in other fields of the dictionary.
func asFormat2(t testing.TB, b []byte) []byte {
	t.Helper()
	ix, _ := open(t, b)
	d := ix.dict
	run := d.Runs[0]
	d.Version, d.Bitmap, d.RunRows, d.Runs = 2, run.Bitmap, 0, nil
	for i := range d.Facets {
		d.Facets[i].Offset = run.Postings[i]
		for j := range d.Facets[i].Values {
			if v := d.Facets[i].Values[j]; len(v.Runs[0]) > 2 {
				t.Fatalf("%s value %q is a range: format 2 lists every row", d.Facets[i].Name, v.Value)
			}
			d.Facets[i].Values[j].Runs = nil
		}
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	dOff := int64(binary.LittleEndian.Uint64(b[len(b)-footerSize:]))
	out := append([]byte("GASVIX02"), b[headerSize:dOff]...)
	out = append(out, js...)
	out = binary.LittleEndian.AppendUint64(out, uint64(dOff))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(js)))
	return append(out, v2Magic...)
}

// FuzzOpen: whatever the bytes, Open and the queries after it return
// rows or an error, never a panic (an index is read back from storage a
// crash or an operator may have damaged).
func FuzzOpen(f *testing.F) {
	for _, b := range damageSeeds(f) {
		f.Add(b, uint(0), byte(0))
		f.Add(b, uint(len(b)-100), byte('9'))
	}
	f.Fuzz(func(t *testing.T, b []byte, at uint, v byte) {
		if len(b) > 0 {
			b = slices.Clone(b)
			b[int(at%uint(len(b)))] = v
		}
		queryDamaged(b)
	})
}

// TestDamagedIndexNeverPanics sweeps FuzzOpen's mutation over both
// formats in every run (the fuzzer finds few per second on indexes this
// size), every other byte changed in the postings, which only the
// queries read: a damaged posting, record or dictionary is an error.
func TestDamagedIndexNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, b0 := range damageSeeds(t) {
		ix, _ := open(t, b0)
		var postings [][2]int // per run, from its first posting to the next run or the dictionary
		for r, run := range ix.lay.runs {
			end := int(binary.LittleEndian.Uint64(b0[len(b0)-footerSize:]))
			if r+1 < len(ix.lay.runs) {
				end = int(ix.lay.runs[r+1].Records)
			}
			postings = append(postings, [2]int{int(run.Postings[0]), end})
		}
		for i := range 3000 {
			b := slices.Clone(b0)
			at := rng.IntN(len(b))
			if p := postings[rng.IntN(len(postings))]; i%2 == 0 {
				at = p[0] + rng.IntN(p[1]-p[0])
			}
			b[at] = byte(rng.IntN(256))
			queryDamaged(b)
		}
	}
}

// damageSeeds are indexes of one run and of many in formats 4 and 3,
// and one in format 2.
func damageSeeds(t testing.TB) [][]byte {
	vcf, lines, entries, _ := synth(300, 5)
	one3 := build(t, vcf, lines, entries, BuildOptions{format: 3})
	return [][]byte{build(t, vcf, lines, entries, BuildOptions{}), one3, asFormat2(t, one3),
		build(t, vcf, lines, entries, BuildOptions{ChunkRows: 64}), build(t, vcf, lines, entries, BuildOptions{ChunkRows: 64, format: 3})}
}

func queryDamaged(b []byte) {
	ix, err := Open(context.Background(), (&memRanger{b: b}).ranger(), int64(len(b)))
	if err != nil {
		return
	}
	for _, q := range []Query{{Limit: 20}, {Filter: Filter{Gene: "G00002", MostSevere: true}, Sort: SortGene, Limit: 20},
		{Filter: Filter{AFBelow: 0.01}, Sort: SortImpact, Desc: true, Offset: 5, Limit: 20}} {
		_, _ = ix.Query(context.Background(), q)
	}
}
