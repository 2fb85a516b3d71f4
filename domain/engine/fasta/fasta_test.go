package fasta

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gasproject/gas/domain/engine/model"
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
	if ref.Seq(ci, int32(lo-1), int32(lo)) != nil || ref.Seq(ci, int32(hi), int32(hi+1)) != nil {
		t.Fatal("sequence outside exon±flank kept")
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
// are read, through reads that span several nearby regions; every kept base
// equals the streaming loader's, whatever the gaps between exons (well
// under, near and over coalesceGap) and with CRLF line ends. A .fai that
// promises more than the file holds is an error, never stale bytes.
func TestLoadIndexedLargeGenome(t *testing.T) {
	const n = WholeGenomeLimit + 1_000_000
	seq := make([]byte, n)
	x := uint32(7)
	for i := range seq {
		x = x*1664525 + 1013904223
		seq[i] = "ACGTacgt"[x>>29]
	}
	var fa bytes.Buffer
	fa.WriteString(">c\r\n")
	for i := 0; i < n; i += 70 {
		fa.Write(seq[i:min(i+70, n)])
		fa.WriteString("\r\n")
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
	streamed := refWith(t, "c", exons...)
	if err := Load(bytes.NewReader(fa.Bytes()), streamed, Options{}); err != nil {
		t.Fatal(err)
	}
	indexed := refWith(t, "c", exons...)
	fai := fmt.Sprintf("c\t%d\t4\t70\t72\n", n)
	idx, err := ReadIndex(strings.NewReader(fai))
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadIndexed(bytes.NewReader(fa.Bytes()), idx, indexed); err != nil {
		t.Fatal(err)
	}
	a, b := streamed.Chroms[0].Segments, indexed.Chroms[0].Segments
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
	if indexed.Chroms[0].Length != n {
		t.Fatalf("length %d", indexed.Chroms[0].Length)
	}

	// a truncated file under the same index
	short := refWith(t, "c", exons...)
	err = LoadIndexed(bytes.NewReader(fa.Bytes()[:fa.Len()-5_000]), idx, short)
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated FASTA: %v", err)
	}
	// a byte that is not a base
	bad := bytes.Clone(fa.Bytes())
	bad[4+72*(exons[3].Start/70)+1] = '5'
	err = LoadIndexed(bytes.NewReader(bad), idx, refWith(t, "c", exons...))
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a nucleotide") {
		t.Fatalf("bad byte: %v", err)
	}
}
