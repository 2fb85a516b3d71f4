package fasta

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

func refWith(t *testing.T, chrom string, exons ...model.Range) *model.Reference {
	t.Helper()
	b := model.NewBuilder()
	for _, e := range exons {
		b.Add(model.Feature{Kind: model.KindExon, Chrom: chrom, Start: e.Start, End: e.End, Strand: model.Forward, Parents: []string{"t"}})
	}
	ref, err := b.Build("x")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestLoadKeepsExonsAndFlanks(t *testing.T) {
	seq := strings.Repeat("ACGTTGCA", 200) // 1600 bp
	var fa bytes.Buffer
	fa.WriteString("\xEF\xBB\xBF>chr1 description\r\n")
	for i := 0; i < len(seq); i += 60 {
		end := min(i+60, len(seq))
		fa.WriteString(strings.ToLower(seq[i:end]) + "\r\n")
	}
	fa.WriteString(">other\nNNNN\n")
	ref := refWith(t, "1", model.Range{Start: 700, End: 750}) // chr1 vs 1: names unified
	if err := Load(bytes.NewReader(fa.Bytes()), ref, Options{}); err != nil {
		t.Fatal(err)
	}
	ci, _ := ref.Chrom("chr1")
	lo, hi := 700-model.Flank, 750+model.Flank
	if got := string(ref.Seq(ci, int32(lo), int32(hi))); got != seq[lo-1:hi] {
		t.Fatalf("segment wrong: %q", got)
	}
	// a genome this small is kept whole (as through a .fai), so REF checks
	// and HGVS shifts work away from exons too
	if got := string(ref.Seq(ci, 1, 1600)); got != seq {
		t.Fatal("small genome not kept whole")
	}
	if ref.Chroms[ci].Length != 1600 {
		t.Fatalf("length %d", ref.Chroms[ci].Length)
	}

	// the indexed path gives the same bases (and keeps small genomes whole)
	var fai bytes.Buffer
	plain := ">chr1\n"
	for i := 0; i < len(seq); i += 60 {
		plain += seq[i:min(i+60, len(seq))] + "\n"
	}
	fai.WriteString("chr1\t1600\t6\t60\t61\n")
	idx, err := ReadIndex(&fai)
	if err != nil {
		t.Fatal(err)
	}
	ref2 := refWith(t, "chr1", model.Range{Start: 700, End: 750})
	if err := LoadIndexed(strings.NewReader(plain), idx, ref2); err != nil {
		t.Fatal(err)
	}
	if got := string(ref2.Seq(0, 1, 1600)); got != seq {
		t.Fatal("indexed load differs")
	}
}

func TestFASTAErrors(t *testing.T) {
	ref := refWith(t, "c", model.Range{Start: 1, End: 5})
	cases := map[string]string{
		"ACGT\n":             "line 1: sequence data before the first '>' header",
		">c\nAC1T\n":         "line 2: character '1' is not a nucleotide code",
		">c\nACGT\n>c\nAA\n": "line 3: sequence \"c\" appears twice",
		"":                   "no '>' sequence header found",
		">\nACGT\n":          "line 1: sequence header without a name",
	}
	for in, want := range cases {
		err := Load(strings.NewReader(in), ref, Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if _, err := ReadIndex(strings.NewReader("c\t10\t3\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("fai: %v", err)
	}
}

func FuzzFASTA(f *testing.F) {
	f.Add([]byte(">c\nACGTACGTAC\nGGTT\n>d x\nNNNN\n"))
	f.Add([]byte(">c\r\nacgt\r\n\r\n;comment\n"))
	f.Add([]byte("\xEF\xBB\xBF>c\nA C\tG\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ref := refWith(t, "c", model.Range{Start: 3, End: 6})
		err := Load(bytes.NewReader(data), ref, Options{MaxLine: 1 << 12})
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not marked ErrFormat: %v", err)
			}
			return
		}
		for _, s := range ref.Chroms[0].Segments {
			for _, b := range s.Seq {
				if b >= 'a' && b <= 'z' {
					t.Fatal("lower-case base stored")
				}
			}
		}
	})
}

// TestLoadIndexedLargeGenome: above WholeGenomeLimit only exons and flanks
// are kept, by the indexed loader through reads that span several nearby
// regions and by the streaming one once the genome proves large (cutting
// down what it had kept whole); both keep the same bases, whatever the
// gaps between exons (well under, near and over coalesceGap) and with CRLF
// line ends. A .fai that promises more than the file holds is an error,
// never stale bytes.
func TestLoadIndexedLargeGenome(t *testing.T) {
	const n = WholeGenomeLimit - 2_000_000 // "c": the limit is crossed in it only after "a" and "skipped"
	random := func(n int, x uint32) []byte {
		seq := make([]byte, n)
		for i := range seq {
			x = x*1664525 + 1013904223
			seq[i] = "ACGTacgt"[x>>29]
		}
		return seq
	}
	seq := random(n, 7)
	seqA := random(1_500_000, 8)
	var fa bytes.Buffer
	var fai strings.Builder
	for _, sq := range []struct {
		name string
		seq  []byte
	}{{"a", seqA}, {"skipped", random(1_500_000, 9)}, {"c", seq}} {
		fa.WriteString(">" + sq.name + " x\r\n")
		fmt.Fprintf(&fai, "%s\t%d\t%d\t70\t72\n", sq.name, len(sq.seq), fa.Len())
		for i := 0; i < len(sq.seq); i += 70 {
			fa.Write(sq.seq[i:min(i+70, len(sq.seq))])
			fa.WriteString("\r\n")
		}
	}
	var exons []model.Range
	pos := int32(100)
	for i := 0; pos < n-20_000; i++ {
		l := int32(50 + i%300)
		exons = append(exons, model.Range{Start: pos, End: pos + l})
		gap := []int32{10, 200, 3_000, coalesceGap, coalesceGap + 100, 9_000, 40_000}[i%7]
		pos += l + gap
	}
	exons = append(exons, model.Range{Start: n - 30, End: n}) // the flank runs off the end
	newRef := func() *model.Reference {
		b := model.NewBuilder()
		for _, e := range exons {
			b.Add(model.Feature{Kind: model.KindExon, Chrom: "c", Start: e.Start, End: e.End, Strand: model.Forward, Parents: []string{"t"}})
		}
		b.Add(model.Feature{Kind: model.KindExon, Chrom: "a", Start: 1000, End: 1100, Strand: model.Forward, Parents: []string{"u"}})
		ref, err := b.Build("x")
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	streamed := newRef()
	if err := Load(bytes.NewReader(fa.Bytes()), streamed, Options{}); err != nil {
		t.Fatal(err)
	}
	indexed := newRef()
	idx, err := ReadIndex(strings.NewReader(fai.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadIndexed(bytes.NewReader(fa.Bytes()), idx, indexed); err != nil {
		t.Fatal(err)
	}
	// "a" was read whole before the genome proved large, then cut down
	ai, _ := streamed.Chrom("a")
	if sa := streamed.Chroms[ai].Segments; len(sa) != 1 || sa[0].Start != 1000-model.Flank ||
		string(sa[0].Seq) != string(bytes.ToUpper(seqA[1000-model.Flank-1:1100+model.Flank])) {
		t.Fatalf("chromosome a: %d segments", len(sa))
	}
	ci, _ := streamed.Chrom("c")
	a, b := streamed.Chroms[ci].Segments, indexed.Chroms[ci].Segments
	if len(a) != len(b) || len(a) < 100 {
		t.Fatalf("%d segments streamed, %d indexed", len(a), len(b))
	}
	for i := range a {
		if a[i].Start != b[i].Start || string(a[i].Seq) != string(b[i].Seq) {
			t.Fatalf("segment %d differs: %d/%d", i, a[i].Start, b[i].Start)
		}
		want := bytes.ToUpper(seq[a[i].Start-1 : a[i].End()])
		if string(b[i].Seq) != string(want) {
			t.Fatalf("segment %d at %d: wrong bases", i, b[i].Start)
		}
	}
	if indexed.Chroms[ci].Length != n || streamed.Chroms[ci].Length != n {
		t.Fatalf("length %d / %d", indexed.Chroms[ci].Length, streamed.Chroms[ci].Length)
	}

	// a truncated file under the same index
	short := newRef()
	err = LoadIndexed(bytes.NewReader(fa.Bytes()[:fa.Len()-5_000]), idx, short)
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated FASTA: %v", err)
	}
	// a byte that is not a base
	bad := bytes.Clone(fa.Bytes())
	bad[int(idx["c"].Offset)+72*int(exons[3].Start/70)+1] = '5'
	err = LoadIndexed(bytes.NewReader(bad), idx, newRef())
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a nucleotide") {
		t.Fatalf("bad byte: %v", err)
	}
}

// TestUpperBases: the eight-at-a-time path agrees with the byte table on
// every byte value, in every position of a word.
func TestUpperBases(t *testing.T) {
	ref := func(src []byte) ([]byte, int) {
		dst := make([]byte, len(src))
		for i, c := range src {
			u := seqTable[c]
			if u <= 1 {
				if c != ' ' && c != '\t' {
					return nil, i
				}
				u = c
			}
			dst[i] = u
		}
		return dst, -1
	}
	x := uint32(1)
	next := func() byte { x = x*1664525 + 1013904223; return byte(x >> 24) }
	for n := 0; n < 100_000; n++ {
		src := make([]byte, int(next())%40)
		for i := range src {
			src[i] = "ACGTNacgtnRYKM*- "[int(next())%17]
		}
		if len(src) > 0 && n%3 == 0 {
			src[int(next())%len(src)] = next() // any byte value
		}
		want, wbad := ref(src)
		got := make([]byte, len(src))
		bad := upperBases(got, src)
		if bad != wbad || (bad < 0 && string(got) != string(want)) {
			t.Fatalf("%q: %q bad %d, want %q bad %d", src, got, bad, want, wbad)
		}
	}
	for c := 0; c < 256; c++ { // each byte value in a run of letters
		src := []byte("ACGTACGTACGTACGT")
		src[5] = byte(c)
		want, wbad := ref(src)
		got := make([]byte, len(src))
		if bad := upperBases(got, src); bad != wbad || (bad < 0 && string(got) != string(want)) {
			t.Fatalf("byte %#x: bad %d, want %d", c, bad, wbad)
		}
	}
}
