package fasta

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

// checkInPlace: LoadInPlace either declines, leaving ref as it was, or
// stores exactly what Load stores from the same bytes.
func checkInPlace(t *testing.T, data []byte, opt Options) bool {
	t.Helper()
	want := refWith(t, "c", model.Range{Start: 3, End: 6})
	wantErr := Load(bytes.NewReader(data), want, opt)
	got := refWith(t, "c", model.Range{Start: 3, End: 6})
	before := refWith(t, "c", model.Range{Start: 3, End: 6})
	if !LoadInPlace(bytes.Clone(data), got, opt) {
		if !reflect.DeepEqual(got.Chroms, before.Chroms) {
			t.Fatalf("%q: declined but changed the reference", data)
		}
		return false
	}
	if wantErr != nil {
		t.Fatalf("%q: accepted what Load refuses: %v", data, wantErr)
	}
	if !reflect.DeepEqual(got.Chroms, want.Chroms) {
		t.Fatalf("%q: in place %+v, Load %+v", data, got.Chroms, want.Chroms)
	}
	return true
}

func TestLoadInPlace(t *testing.T) {
	accepted := []string{
		">c\nACGTACGTAC\nGGTT\n>d x\nNNNN\n",
		">d\nAAAA\n>c desc\r\nacgtnRYK\r\n\r\nA C\tG*-\n",
		">c\n>d\nAC\n",
		">c\nACGT",
	}
	for _, in := range accepted {
		if !checkInPlace(t, []byte(in), Options{}) {
			t.Errorf("%q: declined", in)
		}
	}
	// everything else is Load's, which names the line
	declined := []string{
		"", "\n\n", "ACGT\n", ">c\nAC1T\n", ">c\nACGT\n>c\nAA\n", ">\nACGT\n",
		"\xEF\xBB\xBF>c\nACGT\n", ">c\n;comment\nACGT\n", ">c\nAC\rGT\n",
	}
	for _, in := range declined {
		if checkInPlace(t, []byte(in), Options{}) {
			t.Errorf("%q: accepted", in)
		}
	}
	if checkInPlace(t, []byte(">c\nACGTACGT\n"), Options{MaxLine: 4}) {
		t.Error("line over MaxLine accepted")
	}
}

func FuzzLoadInPlace(f *testing.F) {
	f.Add([]byte(">c\nACGTACGTAC\nGGTT\n>d x\nNNNN\n"))
	f.Add([]byte(">c\r\nacgt\r\n\r\n;comment\n"))
	f.Add([]byte(">c\nA C\tG\n>e\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInPlace(t, data, Options{MaxLine: 1 << 12})
	})
}

// BenchmarkSmallGenome compares the two ways a small uncompressed FASTA
// (the hooks' shape: 4 sequences of 2 Mb in 60-column lines) is loaded
// without a .fai: streaming it with Load, and reading it at once and
// parsing it with LoadInPlace (what BuildReference does for such files).
func BenchmarkSmallGenome(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var fa bytes.Buffer
	bld := model.NewBuilder()
	for c := 1; c <= 4; c++ {
		name := fmt.Sprintf("chr%d", c)
		fmt.Fprintf(&fa, ">%s\n", name)
		line := make([]byte, 60)
		for i := 0; i < 2_000_000; i += 60 {
			for k := range line {
				line[k] = "ACGT"[rng.IntN(4)]
			}
			fa.Write(line)
			fa.WriteByte('\n')
		}
		bld.Add(model.Feature{Kind: model.KindExon, Chrom: name, Start: 1000, End: 1100, Strand: model.Forward, Parents: []string{name}})
	}
	data := fa.Bytes()
	newRef := func() *model.Reference {
		ref, err := bld.Build("bench")
		if err != nil {
			b.Fatal(err)
		}
		return ref
	}
	b.Run("Load", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := Load(bytes.NewReader(data), newRef(), Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadInPlace", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			// as BuildReference reads the file: into a fresh buffer
			if !LoadInPlace(bytes.Clone(data), newRef(), Options{}) {
				b.Fatal("declined")
			}
		}
	})
}
