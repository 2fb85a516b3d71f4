package gff

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

const chr21 = "../../../../shared/testdata/ensembl-chr21/"

func readGz(t *testing.T, name string, gtf bool) *model.Reference {
	t.Helper()
	f, err := os.Open(chr21 + name)
	if err != nil {
		t.Skipf("skipping: %v (shared test data sits beside the checkout)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b := model.NewBuilder()
	if gtf {
		err = ReadGTF(zr, b, Options{})
	} else {
		err = ReadGFF3(zr, b, Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	ref, err := b.Build(name)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestEnsemblChr21: both Ensembl files parse completely and agree.
func TestEnsemblChr21(t *testing.T) {
	gff := readGz(t, "genes.gff3.gz", false)
	gtf := readGz(t, "genes.gtf.gz", true)
	// GFF3: 835 "ID=gene:" features (gene, lincRNA_gene, miRNA_gene, ...)
	// and 2414 "ID=transcript:" features of every type (transcript,
	// lincRNA, processed_pseudogene, pseudogene under a gene, RNA, ...).
	if len(gff.Genes) != 835 || len(gff.Transcripts) != 2414 {
		t.Fatalf("GFF3: %d genes, %d transcripts", len(gff.Genes), len(gff.Transcripts))
	}
	if len(gtf.Genes) != 42 || len(gtf.Transcripts) != 103 {
		t.Fatalf("GTF: %d genes, %d transcripts", len(gtf.Genes), len(gtf.Transcripts))
	}
	coding := 0
	byID := map[string]*model.Transcript{}
	for i := range gff.Transcripts {
		byID[gff.Transcripts[i].ID] = &gff.Transcripts[i]
		if gff.Transcripts[i].Coding() {
			coding++
		}
	}
	if coding < 700 {
		t.Fatalf("only %d coding transcripts", coding)
	}
	for i := range gtf.Transcripts {
		a := &gtf.Transcripts[i]
		b := byID[a.ID]
		if b == nil {
			t.Fatalf("GTF transcript %s missing from GFF3", a.ID)
		}
		if a.Biotype != b.Biotype || a.Strand != b.Strand || a.CDSStart != b.CDSStart || a.CDSEnd != b.CDSEnd || len(a.Exons) != len(b.Exons) {
			t.Fatalf("%s differs: GTF %s %v CDS %d-%d %d exons; GFF3 %s %v CDS %d-%d %d exons", a.ID,
				a.Biotype, a.Strand, a.CDSStart, a.CDSEnd, len(a.Exons), b.Biotype, b.Strand, b.CDSStart, b.CDSEnd, len(b.Exons))
		}
		for k := range a.Exons {
			if a.Exons[k] != b.Exons[k] {
				t.Fatalf("%s exon %d differs", a.ID, k)
			}
		}
		ga, gb := gtf.Genes[a.Gene], gff.Genes[b.Gene]
		if ga.ID != gb.ID || ga.Name != gb.Name {
			t.Fatalf("%s gene %s/%s vs %s/%s", a.ID, ga.ID, ga.Name, gb.ID, gb.Name)
		}
	}
}

func TestGFF3Flavours(t *testing.T) {
	// RefSeq-like: gene-/rna- prefixes, mRNA, no UTR lines (derived), exon shared by two isoforms
	refseq := "##gff-version 3\n" +
		"NC_1\tRefSeq\tgene\t100\t900\t.\t+\t.\tID=gene-ABC;Name=ABC;gene_biotype=protein_coding\n" +
		"NC_1\tRefSeq\tmRNA\t100\t900\t.\t+\t.\tID=rna-NM_1.2;Parent=gene-ABC;transcript_id=NM_1.2\n" +
		"NC_1\tRefSeq\tmRNA\t100\t900\t.\t+\t.\tID=rna-NM_2.1;Parent=gene-ABC;transcript_id=NM_2.1\n" +
		"NC_1\tRefSeq\texon\t100\t300\t.\t+\t.\tParent=rna-NM_1.2,rna-NM_2.1\n" +
		"NC_1\tRefSeq\texon\t500\t900\t.\t+\t.\tParent=rna-NM_1.2\n" +
		"NC_1\tRefSeq\tCDS\t150\t300\t.\t+\t0\tParent=rna-NM_1.2\n" +
		"NC_1\tRefSeq\tCDS\t500\t600\t.\t+\t0\tParent=rna-NM_1.2\n" +
		// GENCODE-like: versioned IDs, transcript_type, a UTR
		"chr1\tHAVANA\tgene\t10\t80\t.\t-\t.\tID=ENSG1.5;gene_id=ENSG1.5;gene_type=lncRNA;gene_name=LNC1\n" +
		"chr1\tHAVANA\ttranscript\t10\t80\t.\t-\t.\tID=ENST1.2;Parent=ENSG1.5;transcript_id=ENST1.2;transcript_type=lncRNA\n" +
		"chr1\tHAVANA\texon\t10\t80\t.\t-\t.\tID=exon:ENST1.2:1;Parent=ENST1.2\n"
	b := model.NewBuilder()
	if err := ReadGFF3(strings.NewReader(refseq), b, Options{}); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Build("x")
	if err != nil {
		t.Fatal(err)
	}
	if len(ref.Transcripts) != 3 || len(ref.Genes) != 2 {
		t.Fatalf("%d transcripts %d genes", len(ref.Transcripts), len(ref.Genes))
	}
	got := map[string]*model.Transcript{}
	for i := range ref.Transcripts {
		got[ref.Transcripts[i].ID] = &ref.Transcripts[i]
	}
	nm1 := got["NM_1.2"]
	if nm1 == nil || !nm1.Coding() || nm1.CDSStart != 150 || nm1.CDSEnd != 600 || len(nm1.Exons) != 2 || ref.Genes[nm1.Gene].Name != "ABC" || ref.Genes[nm1.Gene].ID != "ABC" {
		t.Fatalf("RefSeq transcript: %+v", nm1)
	}
	if f, to := nm1.CDSRange(); f != 51 || to != 302 {
		t.Fatalf("derived UTRs: CDS at cDNA %d-%d", f, to)
	}
	if got["NM_2.1"] == nil || got["NM_2.1"].Coding() {
		t.Fatal("second isoform")
	}
	l := got["ENST1.2"]
	if l == nil || l.Biotype != "lncRNA" || l.Strand != model.Reverse || ref.Genes[l.Gene].Name != "LNC1" {
		t.Fatalf("GENCODE transcript: %+v", l)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"##gff-version 3\nc\ts\tgene\t1\t10\t.\t+\t.\tID=g\nc\ts\texon\tx\t10\t.\t+\t.\tParent=t\n": "line 3: start \"x\"",
		"##gff-version 3\nc\ts\texon\t1\t10\t.\t*\t.\tParent=t\n":                                   "line 2: strand \"*\"",
		"c\ts\texon\t1\t10\n": "line 1: expected 9 tab-separated columns, found 5",
	}
	for in, want := range cases {
		err := ReadGFF3(strings.NewReader(in), model.NewBuilder(), Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	long := "c\ts\texon\t1\t10\t.\t+\t.\tParent=" + strings.Repeat("x", 300) + "\n"
	if err := ReadGFF3(strings.NewReader(long), model.NewBuilder(), Options{MaxLine: 100}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("long line: %v", err)
	}
	if err := ReadGTF(strings.NewReader("c\ts\texon\t1\t10\t.\t+\t.\tgene_id \"g\"; transcript_id \"t\n"), model.NewBuilder(), Options{}); err == nil || !strings.Contains(err.Error(), "unterminated quote") {
		t.Errorf("gtf quote: %v", err)
	}
}

func fuzzParse(t *testing.T, data []byte, gtf bool) {
	b := model.NewBuilder()
	var err error
	if gtf {
		err = ReadGTF(bytes.NewReader(data), b, Options{MaxLine: 4096})
	} else {
		err = ReadGFF3(bytes.NewReader(data), b, Options{MaxLine: 4096})
	}
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("error not marked ErrFormat: %v", err)
		}
		return
	}
	ref, err := b.Build("fuzz")
	if err != nil {
		return // inconsistent models are refused, not crashed on
	}
	for i := range ref.Transcripts {
		tr := &ref.Transcripts[i]
		for c := int32(1); c <= tr.CDNALen() && c < 50; c++ {
			g, ok := tr.GenomicOf(c)
			if !ok || tr.Locate(g).CDNA != c {
				t.Fatalf("%s: cDNA %d maps to %d and back to %d", tr.ID, c, g, tr.Locate(g).CDNA)
			}
		}
	}
}

func FuzzGFF3(f *testing.F) {
	f.Add([]byte("##gff-version 3\nc\ts\tgene\t1\t100\t.\t+\t.\tID=gene:g;Name=G;biotype=protein_coding\n" +
		"c\ts\tmRNA\t1\t100\t.\t+\t.\tID=transcript:t;Parent=gene:g\n" +
		"c\ts\texon\t1\t40\t.\t+\t.\tParent=transcript:t\nc\ts\texon\t60\t100\t.\t+\t.\tParent=transcript:t\n" +
		"c\ts\tCDS\t10\t40\t.\t+\t0\tParent=transcript:t\nc\ts\tCDS\t60\t70\t.\t+\t2\tParent=transcript:t\n"))
	f.Add([]byte("c\ts\texon\t5\t9\t.\t-\t.\tParent=a,b\nc\ts\tCDS\t5\t9\t.\t-\t1\tParent=a\n"))
	f.Add([]byte("c\ts\tgene\t-5\t9\t.\t+\t.\tID=x\n##FASTA\n>c\nACGT\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, false) })
}

func FuzzGTF(f *testing.F) {
	f.Add([]byte("c\ts\texon\t1\t40\t.\t+\t.\tgene_id \"g\"; transcript_id \"t\"; gene_name \"G\";\n" +
		"c\ts\tCDS\t10\t37\t.\t+\t0\tgene_id \"g\"; transcript_id \"t\";\nc\ts\tstop_codon\t38\t40\t.\t+\t0\tgene_id \"g\"; transcript_id \"t\";\n"))
	f.Add([]byte("c\ts\ttranscript\t1\t9\t.\t-\t.\tgene_id g; transcript_id t; tag \"basic\"; tag \"cds_start_NF\";\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, true) })
}
