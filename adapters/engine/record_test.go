package engine

import (
	"math/rand/v2"
	"testing"
)

// TestFindTabs: the word-at-a-time tab finder agrees with a byte loop on
// every length and tab placement, including tabs in the last partial word.
func TestFindTabs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 2000; n++ {
		l := make([]byte, rng.IntN(70))
		for i := range l {
			switch rng.IntN(4) {
			case 0:
				l[i] = '\t'
			case 1:
				l[i] = byte(rng.IntN(256))
			default:
				l[i] = "ACGT.chr0123456789"[rng.IntN(18)]
			}
		}
		var want []int
		for i, c := range l {
			if c == '\t' && len(want) < 8 {
				want = append(want, i)
			}
		}
		var tabs [8]int
		k := findTabs(l, &tabs)
		if k != len(want) {
			t.Fatalf("%q: %d tabs, want %d", l, k, len(want))
		}
		for i := range want {
			if tabs[i] != want[i] {
				t.Fatalf("%q: tab %d at %d, want %d", l, i, tabs[i], want[i])
			}
		}
	}
}

// TestParsePos: the eight-bytes-at-a-time position parser agrees with a
// digit loop on every length, with and without room to load eight bytes,
// and refuses anything that is not all digits.
func TestParsePos(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ref := func(b []byte) (int64, bool) {
		if len(b) == 0 || len(b) > 10 {
			return 0, false
		}
		var v int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		return v, true
	}
	for n := 0; n < 200_000; n++ {
		field := make([]byte, rng.IntN(12))
		for i := range field {
			field[i] = byte('0' + rng.IntN(10))
			if rng.IntN(40) == 0 {
				field[i] = byte(rng.IntN(256))
			}
		}
		pre := []byte("chr1\t")[:rng.IntN(6)]
		post := []byte("\t.\tA\tC\t.\t.\t.")[:rng.IntN(13)]
		l := append(append(append([]byte(nil), pre...), field...), post...)
		got, gok := parsePos(l, len(pre), len(pre)+len(field))
		want, wok := ref(field)
		if got != want || gok != wok {
			t.Fatalf("%q: %d %v, want %d %v", field, got, gok, want, wok)
		}
	}
}
