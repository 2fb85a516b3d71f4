package model

import (
	"math/rand/v2"
	"sort"
	"testing"
)

// seqScan is the reference answer for Seq: a plain scan of the segments.
func seqScan(segs []Segment, start, end int32) []byte {
	for _, s := range segs {
		if s.Start <= start && end <= s.End() {
			return s.Seq[start-s.Start : end-s.Start+1]
		}
	}
	return nil
}

// TestSeqIndex: the binned segment index answers exactly like a scan, for
// positions inside, between, across and beyond segments, and Seq stays
// correct (by binary search) when segments change without re-indexing.
func TestSeqIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &Reference{}
	r.AddChrom("c")
	var segs []Segment
	pos := int32(1)
	for i := 0; i < 3000; i++ {
		pos += int32(rng.IntN(40_000)) // gaps from 0 (adjacent) to beyond a bin
		n := 1 + rng.IntN(2_000)
		seq := make([]byte, n)
		for k := range seq {
			seq[k] = "ACGT"[rng.IntN(4)]
		}
		segs = append(segs, Segment{Start: pos, Seq: seq})
		pos += int32(n)
	}
	// loaders may append out of order; IndexSequence sorts
	shuffled := append([]Segment(nil), segs...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	r.Chroms[0].Segments = shuffled
	r.IndexSequence()
	if !sort.SliceIsSorted(r.Chroms[0].Segments, func(i, j int) bool {
		return r.Chroms[0].Segments[i].Start < r.Chroms[0].Segments[j].Start
	}) {
		t.Fatal("IndexSequence left segments unsorted")
	}
	check := func(label string) {
		t.Helper()
		var cur SeqCursor
		s := int32(1)
		for i := 0; i < 200_000; i++ {
			if i%2 == 0 {
				s = 1 + int32(rng.IntN(int(pos)+50_000)) // anywhere
			} else {
				s += int32(rng.IntN(300)) // nearby, as sorted input goes
			}
			e := s + int32(rng.IntN(30))
			want := seqScan(segs, s, e)
			for _, got := range [][]byte{r.Seq(0, s, e), r.SeqAt(&cur, 0, s, e)} {
				if string(got) != string(want) || (got == nil) != (want == nil) {
					t.Fatalf("%s: Seq(%d, %d) = %q, want %q", label, s, e, got, want)
				}
			}
		}
		for _, sg := range segs[:50] { // exact segment bounds
			if got := r.Seq(0, sg.Start, sg.End()); string(got) != string(sg.Seq) {
				t.Fatalf("%s: whole segment at %d not found", label, sg.Start)
			}
			if r.Seq(0, sg.Start-1, sg.Start) != nil && seqScan(segs, sg.Start-1, sg.Start) == nil {
				t.Fatalf("%s: span across a segment start answered", label)
			}
		}
	}
	check("indexed")
	// replace the segments without re-indexing: the index must not be used
	segs = segs[:len(segs)/2]
	r.Chroms[0].Segments = append([]Segment(nil), segs...)
	check("stale index")
	var cur SeqCursor
	for _, q := range [][3]int32{{0, 0, 5}, {1, 1, 5}, {0, 10, 5}, {-1, 1, 1}} {
		if r.Seq(q[0], q[1], q[2]) != nil || r.SeqAt(&cur, q[0], q[1], q[2]) != nil {
			t.Fatalf("out-of-range query %v answered", q)
		}
	}
	// a cursor follows chromosome changes
	r.AddChrom("d")
	r.Chroms[1].Segments = []Segment{{Start: segs[0].Start, Seq: []byte("TTTT")}}
	r.IndexSequence()
	if got := r.SeqAt(&cur, 0, segs[0].Start, segs[0].Start+1); string(got) != string(segs[0].Seq[:2]) {
		t.Fatalf("chrom 0: %q", got)
	}
	if got := r.SeqAt(&cur, 1, segs[0].Start, segs[0].Start+1); string(got) != "TT" {
		t.Fatalf("chrom 1: %q", got)
	}
}
