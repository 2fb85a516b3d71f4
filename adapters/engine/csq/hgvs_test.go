package csq

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

// A hand-made 100 bp chromosome with one two-exon coding transcript:
//
//	exon 1 11-25 (5'UTR 11-13, CDS 14-25), intron 26-40 (GT...AG),
//	exon 2 41-60 (CDS 41-52 ending in TAA, 3'UTR 53-60 with TGA at 56-58).
//
// Codons: ATG GCT GAA AAG | CTG CCC TGG TAA = M A E K L P W *.
// Chromosome c2 is its reverse complement carrying the same transcript on
// the reverse strand, so every case is checked on both strands and must
// give the same HGVS.
var tinySeq = "GCATGCATGC" + "CCA" + "ATGGCTGAAAAG" + "GTAAGTCCTTTCCAG" + "CTGCCCTGGTAA" + "CACTGAGG" +
	"TTGCAACGTTGCAACGTTGCAACGTTGCAACGTTGCAACG"

func revcomp(s string) string {
	return string(model.ReverseComplement(nil, []byte(s)))
}

func tinyRef(t *testing.T) *model.Reference {
	t.Helper()
	if len(tinySeq) != 100 {
		t.Fatalf("tiny sequence is %d bp", len(tinySeq))
	}
	b := model.NewBuilder()
	add := func(chrom string, strand model.Strand, tx string, exons [][2]int32, cds [][2]int32) {
		b.Add(model.Feature{Kind: model.KindGene, Chrom: chrom, Start: 11, End: 90, Strand: strand, ID: "gene:" + tx + "G", Name: tx + "G", Biotype: "protein_coding"})
		b.Add(model.Feature{Kind: model.KindTranscript, Chrom: chrom, Start: 11, End: 90, Strand: strand, ID: "transcript:" + tx, Parents: []string{"gene:" + tx + "G"}, Biotype: "protein_coding"})
		for _, e := range exons {
			b.Add(model.Feature{Kind: model.KindExon, Chrom: chrom, Start: e[0], End: e[1], Strand: strand, Parents: []string{"transcript:" + tx}})
		}
		for _, c := range cds {
			b.Add(model.Feature{Kind: model.KindCDS, Chrom: chrom, Start: c[0], End: c[1], Strand: strand, Phase: 0, Parents: []string{"transcript:" + tx}})
		}
	}
	add("c1", model.Forward, "TF", [][2]int32{{11, 25}, {41, 60}}, [][2]int32{{14, 25}, {41, 52}})
	add("c2", model.Reverse, "TR", [][2]int32{{41, 60}, {76, 90}}, [][2]int32{{49, 60}, {76, 87}})
	ref, err := b.Build("tiny")
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref.Chroms {
		s := tinySeq
		if ref.Chroms[i].Name == "c2" {
			s = revcomp(tinySeq)
		}
		ref.Chroms[i].Segments = []model.Segment{{Start: 1, Seq: []byte(s)}}
		ref.Chroms[i].Length = 100
	}
	ref.CheckCodons()
	return ref
}

type hgvsCase struct {
	name     string
	pos      int32 // VCF POS on c1 (forward strand)
	ref, alt string
	terms    Term
	c, p     string
}

var hgvsCases = []hgvsCase{
	{"missense", 18, "C", "A", Missense, "c.5C>A", "p.Ala2Asp"},
	{"synonymous", 19, "T", "C", Synonymous, "c.6T>C", "p.Ala2="},
	{"stop gained", 20, "G", "T", StopGained, "c.7G>T", "p.Glu3Ter"},
	{"start lost", 15, "T", "C", StartLost, "c.2T>C", "p.Met1?"},
	{"stop lost", 52, "A", "C", StopLost, "c.24A>C", "p.Ter8TyrextTer3"},
	{"stop retained", 51, "A", "G", StopRetained, "c.23A>G", "p.Ter8="},
	{"5' UTR", 12, "C", "T", UTR5, "c.-2C>T", ""},
	{"3' UTR", 55, "C", "T", UTR3, "c.*3C>T", ""},
	{"splice donor +2", 27, "T", "A", SpliceDonor | Intron, "c.12+2T>A", ""},
	{"splice acceptor -2", 39, "A", "G", SpliceAcceptor | Intron, "c.13-2A>G", ""},
	{"splice region +5", 30, "G", "A", SpliceRegion | Intron, "c.12+5G>A", ""},
	{"splice region +8 (intron middle)", 33, "C", "T", Intron | SpliceRegion, "c.12+8C>T", ""},
	{"intron -7", 34, "T", "C", Intron | SpliceRegion, "c.13-7T>C", ""},
	{"splice region exon side", 25, "G", "C", SpliceRegion | Missense, "c.12G>C", "p.Lys4Asn"},
	{"frameshift deletion, 3' shifted", 20, "GA", "G", Frameshift, "c.11del", "p.Lys4SerfsTer?"},
	{"duplication (frameshift)", 21, "A", "AA", Frameshift, "c.11dup", "p.Leu5AlafsTer?"},
	{"in-frame codon deletion", 16, "GGCT", "G", InframeDeletion, "c.5_7del", "p.Ala2del"},
	{"in-frame duplication", 19, "T", "TGCT", InframeInsertion, "c.5_7dup", "p.Ala2dup"},
	{"delins", 17, "GC", "TT", Missense, "c.4_5delinsTT", "p.Ala2Phe"},
	{"insertion inside a codon", 44, "C", "CGGG", InframeInsertion, "c.16_17insGGG", "p.Pro6delinsArgAla"},
	{"insertion between codons", 46, "C", "CGGG", InframeInsertion, "c.18_19insGGG", "p.Pro6_Trp7insGly"},
}

// mirror converts a forward-strand VCF allele on c1 to the equivalent on
// c2 (the reverse complement), anchored on the left as VCF requires.
func mirror(pos int32, ref, alt string) (int32, string, string) {
	if len(ref) == len(alt) {
		return 101 - pos - int32(len(ref)) + 1, revcomp(ref), revcomp(alt)
	}
	// indel anchored at pos: the changed bases follow the anchor; on c2
	// they are followed by the mirrored anchor, so re-anchor on the left.
	changedLo := pos + 1
	changedHi := pos + int32(len(ref)) - 1
	if len(ref) < len(alt) {
		changedHi = pos // insertion after pos: between pos and pos+1
	}
	var mpos int32
	if len(ref) > len(alt) {
		mpos = 101 - changedHi - 1 // new anchor left of the mirrored deletion
	} else {
		mpos = 101 - (changedHi + 1)
	}
	_ = changedLo
	c2 := revcomp(tinySeq)
	anchor := string(c2[mpos-1])
	if len(ref) > len(alt) {
		del := revcomp(ref[1:])
		return mpos, anchor + del, anchor
	}
	return mpos, anchor, anchor + revcomp(alt[1:])
}

func TestHGVSHandVerified(t *testing.T) {
	ref := tinyRef(t)
	c := NewCaller(ref)
	for _, tc := range hgvsCases {
		for _, strand := range []string{"c1", "c2"} {
			pos, r, a := tc.pos, tc.ref, tc.alt
			if strand == "c2" {
				pos, r, a = mirror(pos, r, a)
			}
			ci, _ := ref.Chrom(strand)
			if got := string(ref.Seq(ci, pos, pos+int32(len(r))-1)); got != r {
				t.Fatalf("%s/%s: test REF %s does not match sequence %s at %d", tc.name, strand, r, got, pos)
			}
			effs := c.Annotate(ci, pos, []byte(r), []byte(a), 0)
			var e *Effect
			for i := range effs {
				if effs[i].Tx >= 0 {
					e = &effs[i]
				}
			}
			if e == nil {
				t.Errorf("%s/%s: no transcript effect", tc.name, strand)
				continue
			}
			hc := string(c.text[e.HGVSc.a:e.HGVSc.b])
			hp := string(c.text[e.HGVSp.a:e.HGVSp.b])
			if e.Terms&^NMDTranscript != tc.terms {
				t.Errorf("%s/%s %d %s>%s: terms %s, want %s", tc.name, strand, pos, r, a, e.Terms, tc.terms)
			}
			if hc != tc.c || hp != tc.p {
				t.Errorf("%s/%s %d %s>%s: HGVS %s %s, want %s %s", tc.name, strand, pos, r, a, hc, hp, tc.c, tc.p)
			}
		}
	}
}

func TestUpDownstreamAndIntergenic(t *testing.T) {
	ref := tinyRef(t)
	c := NewCaller(ref)
	ci, _ := ref.Chrom("c1")
	effs := c.Annotate(ci, 5, []byte("G"), []byte("A"), 0)
	if len(effs) != 1 || effs[0].Terms != Upstream || effs[0].Distance != 6 {
		t.Fatalf("upstream: %+v", effs)
	}
	effs = c.Annotate(ci, 70, []byte("A"), []byte("T"), 0)
	if len(effs) != 1 || effs[0].Terms != Downstream || effs[0].Distance != 10 {
		t.Fatalf("downstream: %+v", effs)
	}
	c2, _ := ref.Chrom("chr2") // chr2 / c2 are different names: not found
	_ = c2
	var b strings.Builder
	b.WriteString(Term(Intergenic | Upstream).String())
	if b.String() != "upstream_gene_variant&intergenic_variant" {
		t.Fatalf("term order: %s", b.String())
	}
}

// TestAppendInt: the two-digits-at-a-time formatter agrees with strconv
// across digit counts and signs, extremes included.
func TestAppendInt(t *testing.T) {
	vals := []int32{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 65535, 99999, 100000,
		1234567, 99999999, 100000000, 2147483647, -1, -9, -10, -99, -100, -12345, -2147483648}
	for v := int32(0); v < 20000; v += 7 {
		vals = append(vals, v, -v)
	}
	for _, v := range vals {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.Itoa(int(v)); got != want {
			t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
		}
	}
}
