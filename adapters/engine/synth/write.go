package synth

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// FASTALineWidth is the number of bases per FASTA line, as Ensembl writes.
const FASTALineWidth = 60

// WriteFASTA writes the genome as FASTA with 60-base lines.
func (g *Genome) WriteFASTA(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for i, name := range g.names {
		fmt.Fprintf(bw, ">%s\n", name)
		s := g.seqs[i]
		for p := 0; p < len(s); p += FASTALineWidth {
			bw.Write(s[p:min(p+FASTALineWidth, len(s))])
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// WriteFAI writes the samtools faidx index matching WriteFASTA's layout, so
// htslib tools need not build it.
func (g *Genome) WriteFAI(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var off int64
	for i, name := range g.names {
		off += int64(len(name)) + 2
		n := int64(len(g.seqs[i]))
		fmt.Fprintf(bw, "%s\t%d\t%d\t%d\t%d\n", name, n, off, FASTALineWidth, FASTALineWidth+1)
		off += n + (n+FASTALineWidth-1)/FASTALineWidth
	}
	return bw.Flush()
}

// gffTypes names the GFF3 feature types Ensembl uses per biotype.
func geneType(biotype string) string {
	if biotype == "protein_coding" {
		return "gene"
	}
	return "ncRNA_gene"
}

func transcriptType(biotype string) string {
	switch biotype {
	case "protein_coding":
		return "mRNA"
	case "lncRNA", "lincRNA":
		return "lnc_RNA"
	default:
		return "transcript"
	}
}

// selectionTags are the tag attribute of a gene's ti-th transcript, as
// Ensembl writes them: the first (main) transcript is the canonical one,
// and for a coding gene also MANE Select.
func selectionTags(ti int, t *Transcript) string {
	switch {
	case ti > 0:
		return ""
	case t.Coding():
		return "tag=basic,Ensembl_canonical,MANE_Select;"
	}
	return "tag=basic,Ensembl_canonical;"
}

// WriteGFF3 writes the gene models in Ensembl's GFF3 layout (gene:,
// transcript: and CDS: ID prefixes, biotype attributes, exon ranks, UTR
// features, CDS phases), the flavour bcftools csq reads.
func (g *Genome) WriteGFF3(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString("##gff-version 3\n")
	for i, name := range g.names {
		fmt.Fprintf(bw, "##sequence-region   %s 1 %d\n", name, len(g.seqs[i]))
	}
	for ci, name := range g.names {
		for _, gn := range g.genes[ci] {
			strand := string(gn.Strand)
			fmt.Fprintf(bw, "%s\tsynth\t%s\t%d\t%d\t.\t%s\t.\tID=gene:%s;Name=%s;biotype=%s;gene_id=%s;version=1\n",
				name, geneType(gn.Biotype), gn.Start, gn.End, strand, gn.ID, gn.Name, gn.Biotype, gn.ID)
			for ti, t := range gn.Transcripts {
				ts, te := t.Exons[0].Start, t.Exons[len(t.Exons)-1].End
				fmt.Fprintf(bw, "%s\tsynth\t%s\t%d\t%d\t.\t%s\t.\tID=transcript:%s;Parent=gene:%s;Name=%s;biotype=%s;%stranscript_id=%s;version=1\n",
					name, transcriptType(t.Biotype), ts, te, strand, t.ID, gn.ID, t.Name, t.Biotype, selectionTags(ti, t), t.ID)
				for k, e := range t.Exons {
					rank := k + 1
					if gn.Strand == '-' {
						rank = len(t.Exons) - k
					}
					fmt.Fprintf(bw, "%s\tsynth\texon\t%d\t%d\t.\t%s\t.\tParent=transcript:%s;Name=%s;exon_id=%s;rank=%d;version=1\n",
						name, e.Start, e.End, strand, t.ID, t.exonIDs[rank-1], t.exonIDs[rank-1], rank)
				}
				if !t.Coding() {
					continue
				}
				for _, f := range t.codingParts() {
					switch f.kind {
					case "CDS":
						fmt.Fprintf(bw, "%s\tsynth\tCDS\t%d\t%d\t.\t%s\t%d\tID=CDS:%s;Parent=transcript:%s;protein_id=%s\n",
							name, f.e.Start, f.e.End, strand, f.phase, t.ProteinID, t.ID, t.ProteinID)
					default:
						fmt.Fprintf(bw, "%s\tsynth\t%s\t%d\t%d\t.\t%s\t.\tParent=transcript:%s\n",
							name, f.kind, f.e.Start, f.e.End, strand, t.ID)
					}
				}
			}
			bw.WriteString("###\n")
		}
	}
	return bw.Flush()
}

type part struct {
	kind  string
	e     Exon
	phase int
}

// codingParts splits a coding transcript's exons into CDS and UTR features
// in genomic order, with CDS phases counted in transcript order.
func (t *Transcript) codingParts() []part {
	var parts []part
	lowUTR, highUTR := "five_prime_UTR", "three_prime_UTR"
	if t.Gene.Strand == '-' {
		lowUTR, highUTR = highUTR, lowUTR
	}
	for _, e := range t.Exons {
		if e.Start < t.CDSStart {
			parts = append(parts, part{kind: lowUTR, e: Exon{e.Start, min(e.End, t.CDSStart-1)}})
		}
		if cs, ce := max(e.Start, t.CDSStart), min(e.End, t.CDSEnd); cs <= ce {
			parts = append(parts, part{kind: "CDS", e: Exon{cs, ce}})
		}
		if e.End > t.CDSEnd {
			parts = append(parts, part{kind: highUTR, e: Exon{max(e.Start, t.CDSEnd+1), e.End}})
		}
	}
	// phases in transcript order
	idx := make([]int, 0, len(parts))
	for i, p := range parts {
		if p.kind == "CDS" {
			idx = append(idx, i)
		}
	}
	if t.Gene.Strand == '-' {
		for i, j := 0, len(idx)-1; i < j; i, j = i+1, j-1 {
			idx[i], idx[j] = idx[j], idx[i]
		}
	}
	done := int64(0)
	for _, i := range idx {
		parts[i].phase = int((3 - done%3) % 3)
		done += parts[i].e.End - parts[i].e.Start + 1
	}
	return parts
}

// appendInt is strconv.AppendInt for int64 with base 10.
func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
