package gasdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

// bigRef builds a GENCODE-sized reference: n transcripts, four per gene,
// each using 10 of its gene's 12 exons, on 24 chromosomes, with the
// exon±flank sequence a real build stores (merged per exon).
func bigRef(n int) *model.Reference {
	r := &model.Reference{Name: "big"}
	for c := 0; c < 24; c++ {
		r.AddChrom(fmt.Sprintf("chr%d", c+1))
	}
	const exonLen, gap = 150, 1000
	seq := bytes.Repeat([]byte("ACGTTGCAAC"), 40)
	for gi := 0; gi < n/4; gi++ {
		c := int32(gi % 24)
		base := int32(gi/24)*14000 + 1000
		r.Genes = append(r.Genes, model.Gene{ID: fmt.Sprintf("ENSG%011d", gi), Name: fmt.Sprintf("G%d", gi), Biotype: "protein_coding",
			Chrom: c, Start: base, End: base + 11*gap + exonLen, Strand: model.Forward})
		for k := int32(0); k < 12; k++ {
			s := base + k*gap - model.Flank
			r.Chroms[c].Segments = append(r.Chroms[c].Segments, model.Segment{Start: s, Seq: seq[:exonLen+2*model.Flank]})
		}
		for v := 0; v < 4; v++ {
			t := model.Transcript{ID: fmt.Sprintf("ENST%011d", gi*4+v), Biotype: "protein_coding", Gene: int32(gi), Chrom: c, Strand: model.Forward}
			for k := int32(0); k < 12; k++ {
				if k == int32(v) || k == int32(v+5) {
					continue
				}
				t.Exons = append(t.Exons, model.Range{Start: base + k*gap, End: base + k*gap + exonLen})
			}
			t.CDSStart, t.CDSEnd = t.Exons[0].Start+50, t.Exons[9].End-20
			r.Transcripts = append(r.Transcripts, t)
		}
	}
	if err := r.Finish(); err != nil {
		panic(err)
	}
	return r
}

func TestRoundTripAndDamage(t *testing.T) {
	r := bigRef(2000)
	var b bytes.Buffer
	if err := Write(&b, r, Meta{Known: "k.vcf.gz"}); err != nil {
		t.Fatal(err)
	}
	r2, m, err := ReadMeta(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Known != "k.vcf.gz" || len(r2.Transcripts) != 2000 || len(r2.Genes) != 500 || r2.Name != "big" {
		t.Fatalf("round trip: %d transcripts, meta %+v", len(r2.Transcripts), m)
	}
	for i := range r.Transcripts {
		a, c := &r.Transcripts[i], &r2.Transcripts[i]
		if a.ID != c.ID || a.CDSStart != c.CDSStart || len(a.Exons) != len(c.Exons) || a.Exons[9] != c.Exons[9] {
			t.Fatalf("transcript %d differs", i)
		}
	}
	if got := r2.Seq(0, r.Chroms[0].Segments[3].Start, r.Chroms[0].Segments[3].Start+9); string(got) != "ACGTTGCAAC" {
		t.Fatalf("sequence %q", got)
	}
	for _, cut := range []int{0, 3, 10, b.Len() / 2, b.Len() - 1} {
		if _, err := Read(bytes.NewReader(b.Bytes()[:cut])); !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated at %d: %v", cut, err)
		}
	}
}

var loadN = 250_000

// BenchmarkLoad250k measures loading a database of 250,000 transcripts
// (GENCODE scale), which a worker does once at start: the issue asks for well
// under a second. Run with: go test -bench Load250k ./adapters/engine/gasdb
func BenchmarkLoad250k(b *testing.B) {
	r := bigRef(loadN)
	var buf bytes.Buffer
	if err := Write(&buf, r, Meta{}); err != nil {
		b.Fatal(err)
	}
	path := b.TempDir() + "/big.gasdb"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r2, err := Read(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(r2.Transcripts) != loadN {
			b.Fatalf("loaded %d transcripts, want %d", len(r2.Transcripts), loadN)
		}
	}
}

// TestSelectionTagsAndOlderFormats: canonical and MANE Select flags survive
// a round trip; a format-1 database (built before tags were read) still
// loads, with no transcript marked, and says so; a newer format is refused
// with a message naming the versions this build reads.
func TestSelectionTagsAndOlderFormats(t *testing.T) {
	r := bigRef(8)
	r.Transcripts[0].Flags |= model.FlagCanonical | model.FlagMANESelect
	r.Transcripts[5].Flags |= model.FlagCanonical
	var b bytes.Buffer
	if err := Write(&b, r, Meta{}); err != nil {
		t.Fatal(err)
	}
	r2, m, err := ReadMeta(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != TagsFormat || m.Checksum == 0 {
		t.Fatalf("meta %+v", m)
	}
	for i := range r2.Transcripts {
		want := i == 0 || i == 5
		if r2.Transcripts[i].Canonical() != want || r2.Transcripts[i].MANESelect() != (i == 0) {
			t.Fatalf("transcript %d: canonical %v MANE %v", i, r2.Transcripts[i].Canonical(), r2.Transcripts[i].MANESelect())
		}
	}
	withVersion := func(v byte) []byte {
		old := bytes.Clone(b.Bytes())
		old[len(magic)] = v
		body := old[:len(old)-4]
		binary.LittleEndian.PutUint32(old[len(old)-4:], crc32.ChecksumIEEE(body))
		return old
	}
	r1, m1, err := ReadMeta(bytes.NewReader(withVersion(1)))
	if err != nil {
		t.Fatalf("format 1 refused: %v", err)
	}
	if m1.Format != 1 || r1.Transcripts[0].Canonical() || r1.Transcripts[0].MANESelect() {
		t.Fatalf("format 1: meta %+v, transcript 0 flags %b", m1, r1.Transcripts[0].Flags)
	}
	_, err = Read(bytes.NewReader(withVersion(9)))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format version 9; this build of GAS reads versions 1 to 2") {
		t.Fatalf("format 9: %v", err)
	}
}
