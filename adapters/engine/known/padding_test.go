package known

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/engine/tabix"
)

// segRef is a reference made of separate stretches, as a database of a
// large genome keeps sequence only around exons: like model.Reference.Seq
// it refuses any range that is not inside one stretch.
type segRef map[string][]seg

type seg struct {
	start int64
	seq   string
}

func (r segRef) Seq(chrom string, s, e int64) []byte {
	for _, g := range r[chrom] {
		if s >= g.start && e < g.start+int64(len(g.seq)) && s <= e {
			return []byte(g.seq[s-g.start : e-g.start+1])
		}
	}
	return nil
}

// cut returns the stretch of g between start and end (inclusive).
func (g seg) cut(start, end int64) seg {
	start, end = max(start, g.start), min(end, g.start+int64(len(g.seq))-1)
	return seg{start, g.seq[start-g.start : end-g.start+1]}
}

// The two alleles local mode missed (synth.Small, seed 1, 10,000 variants):
// the known VCF writes each with one more base of left padding, and that
// padding base is part of the repeat the indel shifts through, so
// suffix-first trimming leaves the two representations one base apart and
// only the reference to the left can bring them together. The contexts
// are the generator's genome around them.
var (
	padChr1 = seg{258161, "ACACACTGGTCCGGTCCAAGAGATCACAAGGACCATAATTTCACATGTAAGTTGATTTTAAGCGAGTCCTTTATCGCAGCCCGTCAGGTCCAACGATATTAGCGTGCGAATCACTGGCCAC"}
	padChr2 = seg{73455, "TTTCTTCTCGGCAAAGATTACTTCTACACCTTGCCCACATAAGCATTGGCTATCGTTCGGACAACGATACGAATATTATGAGGATCCTAATTATTTAGTGGTCCCCTCAATACGTTAATAA"}
)

const padKnownVCF = "##fileformat=VCFv4.2\n" +
	"##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n" +
	"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t258240\trs1002099\tCC\tCCCC\t.\t.\tAF=6.147e-05\n" +
	"chr1\t258240\trs7000001\tC\tCA,CCCC\t.\t.\tAF=0.1,0.2\n" + // decoys: CCC inserted is not CC inserted
	"chr1\t258241\trs7000002\tC\tT\t.\t.\tAF=0.25\n" +
	"chr2\t73534\trs1003035\tGAGGA\tGA\t.\t.\tAF=0.000355\n" +
	"chr2\t73535\trs7000003\tAGGAT\tA,AGGAA\t.\t.\tAF=0.3,0.4\n" // decoys: a 4-base deletion, an SNV

// writeKnownFiles writes text as a plain VCF and as BGZF with a tabix
// index, returning both paths.
func writeKnownFiles(t *testing.T, text string) []string {
	t.Helper()
	dir := t.TempDir()
	plain := filepath.Join(dir, "known.vcf")
	if err := os.WriteFile(plain, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var bz bytes.Buffer
	w, err := bgzf.NewWriter(&bz)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	indexed := filepath.Join(dir, "known.vcf.gz")
	if err := os.WriteFile(indexed, bz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tabix.IndexFile(indexed); err != nil {
		t.Fatal(err)
	}
	return []string{plain, indexed}
}

// TestKnownPaddedIndelReproducers: an insertion and a deletion that the known
// VCF writes with an extra padding base inside the repeat match their
// known record whatever part of the reference is available (none at all,
// a stretch that starts at the padding base, a stretch edge between the
// padding base and the base before it, or all of it), with and without
// the index, while decoys at the same positions never match.
func TestKnownPaddedIndelReproducers(t *testing.T) {
	refs := map[string]Reference{
		"none":           nil,
		"whole context":  segRef{"chr1": {padChr1}, "chr2": {padChr2}},
		"starts at pad":  segRef{"chr1": {padChr1.cut(258240, 1e9)}, "chr2": {padChr2.cut(73534, 1e9)}},
		"edge at pad":    segRef{"chr1": {padChr1.cut(0, 258239), padChr1.cut(258240, 1e9)}, "chr2": {padChr2.cut(0, 73533), padChr2.cut(73534, 1e9)}},
		"edge after pad": segRef{"chr1": {padChr1.cut(0, 258240), padChr1.cut(258241, 1e9)}, "chr2": {padChr2.cut(0, 73534), padChr2.cut(73535, 1e9)}},
		"exon far left":  segRef{"chr1": {padChr1.cut(0, 258200)}, "chr2": {padChr2.cut(0, 73500)}},
	}
	queries := []struct {
		chrom    string
		pos      int64
		ref, alt string
		id, af   string // "" when it must not match
		needs    int64  // a reference base the proof needs (0: the records suffice)
	}{
		{"chr1", 258240, "C", "CCC", "rs1002099", "6.147e-05", 0}, // the known record's own position, less padding
		{"chr1", 258241, "C", "CCC", "rs1002099", "6.147e-05", 0}, // the sample's record
		{"chr1", 258241, "C", "CC", "", "", 0},
		{"chr1", 258241, "C", "CCG", "", "", 0},
		{"chr1", 258241, "CCG", "CCCCG", "rs1002099", "6.147e-05", 0}, // right padding too
		{"chr1", 258242, "C", "CCC", "rs1002099", "6.147e-05", 0},     // at the run's last base
		{"chr1", 258242, "C", "CCCC", "rs7000001", "0.2", 258241},     // a decoy's second ALT, one base apart
		{"chr1", 258242, "c", "ccA", "", "", 0},
		{"chr2", 73534, "GAGG", "G", "rs1003035", "0.000355", 0}, // the same deletion written one base left
		{"chr2", 73535, "AGGA", "A", "rs1003035", "0.000355", 0}, // the sample's record
		{"chr2", 73535, "AGG", "A", "", "", 0},
		{"chr2", 73535, "AGGAT", "A", "rs7000003", "0.3", 0},
		{"chr2", 73535, "AGGAT", "AT", "rs1003035", "0.000355", 0},
		{"chr2", 73536, "GGA", "G", "", "", 0},
	}
	sort.SliceStable(queries, func(i, j int) bool {
		return queries[i].chrom < queries[j].chrom || queries[i].chrom == queries[j].chrom && queries[i].pos < queries[j].pos
	})
	for _, path := range writeKnownFiles(t, padKnownVCF) {
		for name, ref := range refs {
			t.Run(filepath.Base(path)+"/"+name, func(t *testing.T) {
				m, err := Open(path, Options{Reference: ref, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				for _, q := range queries {
					h, ok, err := m.Match(q.chrom, q.pos, q.ref, q.alt)
					if err != nil {
						t.Fatal(err)
					}
					if q.needs > 0 && (ref == nil || ref.Seq(q.chrom, q.needs, q.needs) == nil) {
						q.id = "" // nothing links the two records
					}
					if ok != (q.id != "") || ok && (h.ID != q.id || !h.HasAF || strconv.FormatFloat(h.AF, 'g', 4, 64) != q.af) {
						t.Errorf("%s:%d %s>%s: got %+v, %v; want %q AF %s", q.chrom, q.pos, q.ref, q.alt, h, ok, q.id, q.af)
					}
				}
			})
		}
	}
}

// exonFlanks is the reference a database keeps for a genome too large to
// hold whole: every exon with model.Flank (64) bases either side.
func exonFlanks(g *synth.Genome) segRef {
	r := segRef{}
	for _, gene := range g.Genes() {
		seq := g.Sequence(gene.Chrom)
		for _, tx := range gene.Transcripts {
			for _, e := range tx.Exons {
				s, end := max(1, e.Start-64), min(int64(len(seq)), e.End+64)
				r[gene.Chrom] = append(r[gene.Chrom], seg{s, string(seq[s-1 : end])})
			}
		}
	}
	for chrom, segs := range r {
		sort.Slice(segs, func(i, j int) bool { return segs[i].start < segs[j].start })
		var merged []seg
		for _, s := range segs {
			if n := len(merged); n > 0 && s.start <= merged[n-1].start+int64(len(merged[n-1].seq)) {
				last := &merged[n-1]
				if end := s.start + int64(len(s.seq)); end > last.start+int64(len(last.seq)) {
					last.seq += s.seq[last.start+int64(len(last.seq))-s.start:]
				}
				continue
			}
			merged = append(merged, s)
		}
		r[chrom] = merged
	}
	return r
}

// TestKnownSyntheticPartialReference: the generator's answer key holds exactly
// when the reference covers only exon flanks or nothing at all, as it
// does with a full one (TestSyntheticAllStrategies) — the local mode's
// sample pool is this generator's output.
func TestKnownSyntheticPartialReference(t *testing.T) {
	g, dir, qs, _ := synthSet(t, 10000)
	flanks := exonFlanks(g)
	for _, file := range []string{"known.vcf.gz", "noindex.vcf.gz"} {
		for name, ref := range map[string]Reference{"none": nil, "exon flanks": flanks} {
			t.Run(file+"/"+name, func(t *testing.T) {
				m, err := Open(filepath.Join(dir, file), Options{Reference: ref, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				check(t, m, qs, func(s string) string { return s })
			})
		}
	}
}

// TestKnownDuplicateRecordTakesOver: two records of one variant (different
// padding) share a canonical form; the first wins, and when it leaves the
// window the second answers instead of the variant going unknown. A
// representation further than Window from every record of it is out of
// reach: Window bounds the shift considered.
func TestKnownDuplicateRecordTakesOver(t *testing.T) {
	seq := "GATCGATCGC" + strings.Repeat("A", 30) + "GCTTAGC" // the run of A is 11-40
	ref := ReferenceFunc(func(chrom string, s, e int64) []byte {
		if s < 1 || e > int64(len(seq)) || e < s {
			return nil
		}
		return []byte(seq[s-1 : e])
	})
	vcf := "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
		"x\t7\trs1\tTCGCAA\tTCGCA\t.\t.\tAF=0.1\n" + // one A deleted, four bases of padding
		"x\t13\trs2\tAA\tA\t.\t.\tAF=0.2\n" // the same deletion
	for _, path := range writeKnownFiles(t, vcf) {
		m, err := Open(path, Options{Reference: ref, Window: 8})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			pos  int64
			want string
		}{{12, "rs1"}, {16, "rs2"}, {33, ""}} {
			h, ok, err := m.Match("x", q.pos, "AA", "A")
			if err != nil || ok != (q.want != "") || h.ID != q.want {
				t.Errorf("%s: x:%d AA>A: got %+v %v %v, want %q", filepath.Base(path), q.pos, h, ok, err, q.want)
			}
		}
		m.Close()
	}
}

// TestKnownNormalizeAcrossReferenceEdges: a reference made of touching
// stretches (a request across an edge is refused) left-aligns an indel as
// far as one made of a single stretch: through a 100-base run, past every
// 64-base request boundary and stretch edge.
func TestKnownNormalizeAcrossReferenceEdges(t *testing.T) {
	seq := "GATTACAGATTACAGT" + strings.Repeat("C", 100) + "TAGGAT" // the run is 17-116
	whole := segRef{"x": {{1, seq}}}
	for _, piece := range []int{1, 7, 10, 63, 64, 65} {
		var pieces []seg
		for s := 1; s <= len(seq); s += piece {
			pieces = append(pieces, seg{int64(s), seq[s-1 : min(len(seq), s+piece-1)]})
		}
		split := segRef{"x": pieces}
		for _, c := range []struct {
			pos      int64
			ref, alt string
		}{{116, "C", "CC"}, {116, "CCT", "CT"}, {90, "CCCC", "C"}, {40, "C", "CCCC"}} {
			wp, wr, wa := Normalize(whole, "x", c.pos, c.ref, c.alt, 256)
			if wp != 17 {
				t.Fatalf("whole reference: %d %s>%s normalised to %d", c.pos, c.ref, c.alt, wp)
			}
			if p, r, a := Normalize(split, "x", c.pos, c.ref, c.alt, 256); p != wp || r != wr || a != wa {
				t.Errorf("stretches of %d: %d %s>%s normalised to %d %q>%q, want %d %q>%q", piece, c.pos, c.ref, c.alt, p, r, a, wp, wr, wa)
			}
		}
	}
}
