package vartable

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRowBlocksRoundTrip: random rows, in blocks, decode to themselves:
// rows of one line and of new lines (after gaps, and at offsets before
// the last line's end), positions going back, terms and genes repeated
// or not, warnings and frequencies present or not, values at their
// limits; and every byte of a block is needed.
func TestRowBlocksRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(vs ...uint64) uint64 { return vs[rng.IntN(len(vs))] }
	for range 500 {
		n := 1 + rng.IntN(rowBlock)
		rows := make([]record, n)
		for i := range rows {
			r := record{offset: pick(0, 1, 1<<40, math.MaxInt64), length: uint32(pick(0, 7, math.MaxUint32)),
				pos: uint32(pick(0, 5, math.MaxUint32)), chrom: uint16(pick(0, 1, math.MaxUint16)),
				allele: uint16(pick(0, 2, MaxLineRows)), ann: uint16(pick(0, 3, MaxLineRows)), impact: Impact(rng.IntN(5)),
				flags: uint8(rng.IntN(16)), terms: uint32(pick(0, 1<<25, math.MaxUint32)), gene: uint32(pick(0, 9, math.MaxUint32)),
				warn: uint32(pick(0, 0, 1<<31)), af: float32(math.NaN())}
			if rng.IntN(3) == 0 {
				r.af = float32(pick(0, 1, 3)) / 7
			}
			if i > 0 && rng.IntN(2) == 0 { // another row of the line before
				p := rows[i-1]
				r.offset, r.length, r.pos, r.chrom = p.offset, p.length, p.pos, p.chrom
			}
			if i > 0 && rng.IntN(2) == 0 {
				r.terms, r.gene = rows[i-1].terms, rows[i-1].gene
			}
			rows[i] = r
		}
		var b []byte
		for i := range rows {
			b = appendRow(b, i > 0, &rows[max(i-1, 0)], &rows[i])
		}
		got, err := decodeBlock(b, n, nil)
		if err != nil || len(got) != n {
			t.Fatalf("%d rows: %d decoded (%v)", n, len(got), err)
		}
		for i := range rows {
			w, g := rows[i], got[i]
			if w.af != w.af && g.af != g.af {
				w.af, g.af = 0, 0
			}
			if g != w {
				t.Fatalf("row %d: got %+v, want %+v", i, g, w)
			}
		}
		if _, err := decodeBlock(b[:len(b)-1], n, nil); err == nil {
			t.Fatal("a block missing its last byte decoded")
		}
		if _, err := decodeBlock(append(b, 0), n, nil); err == nil {
			t.Fatal("a block with a byte too many decoded")
		}
	}
}

// FuzzDecodeBlock: whatever the bytes, a block decodes or fails, never
// panics.
func FuzzDecodeBlock(f *testing.F) {
	r := record{offset: 100, length: 20, pos: 7, allele: 1, terms: 3, gene: 2, af: 0.5, warn: 1}
	f.Add(appendRow(nil, false, nil, &r), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		_, _ = decodeBlock(b, n%(rowBlock+1), nil)
	})
}
