// Package model holds the annotation engine's reference data in memory: genes,
// transcripts with their exons and coding region, the reference sequence the
// annotator needs (exons and their flanks, not whole chromosomes) and the
// interval index that finds the transcripts near a variant. Parsers (GFF3, GTF,
// FASTA) fill it through a Builder; the gasdb package stores and loads it; the
// consequence caller only reads it, so one Reference serves many goroutines.
package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Strand of a gene or transcript: +1 forward, -1 reverse.
type Strand int8

// Strands.
const (
	Forward Strand = 1
	Reverse Strand = -1
)

// String renders the strand as in GFF ("+" or "-").
func (s Strand) String() string {
	if s == Reverse {
		return "-"
	}
	return "+"
}

// Range is a closed 1-based genomic interval, as in GFF and VCF.
type Range struct{ Start, End int32 }

// Len is the number of bases in the range.
func (r Range) Len() int32 { return r.End - r.Start + 1 }

// Gene groups transcripts under a stable identifier and a readable name.
type Gene struct {
	ID, Name, Biotype string
	Chrom             int32
	Start, End        int32
	Strand            Strand
}

// Transcript flags.
const (
	// FlagStartOK: the CDS begins with ATG (a start codon can be lost).
	FlagStartOK uint8 = 1 << iota
	// FlagStopOK: the CDS ends with a stop codon (a stop can be lost).
	FlagStopOK
	// FlagStartIncomplete: the CDS is 5' incomplete (first phase not 0, or tagged cds_start_NF).
	FlagStartIncomplete
	// FlagEndIncomplete: the CDS is 3' incomplete (tagged cds_end_NF).
	FlagEndIncomplete
	// FlagCanonical: the gene's canonical transcript (Ensembl/GENCODE tag
	// Ensembl_canonical, RefSeq "RefSeq Select"; MANE Select implies it).
	FlagCanonical
	// FlagMANESelect: the MANE Select transcript (tag MANE_Select, RefSeq
	// "MANE Select"), the one Ensembl and RefSeq agree on.
	FlagMANESelect
)

// Canonical reports whether the transcript is its gene's canonical one.
func (t *Transcript) Canonical() bool { return t.Flags&FlagCanonical != 0 }

// MANESelect reports whether the transcript is its gene's MANE Select one.
func (t *Transcript) MANESelect() bool { return t.Flags&FlagMANESelect != 0 }

// Transcript is one processed RNA: its exons in genomic order and, when it
// codes, the genomic span of its CDS. Derived tables (cDNA offsets) are filled
// by Finish so the hot path never recomputes them.
type Transcript struct {
	ID, Biotype string
	Gene        int32 // index into Reference.Genes
	Chrom       int32
	Strand      Strand
	Start, End  int32   // span of the exons
	Exons       []Range // genomic order, non-overlapping
	// CDSStart..CDSEnd is the genomic span of the coding region (0 when non-coding).
	CDSStart, CDSEnd int32
	// Phase is the GFF phase of the first CDS base in transcript order: the
	// number of bases to skip before the first complete codon.
	Phase uint8
	Flags uint8

	// derived by Finish
	exonCum  []int32 // cDNA length before exon i in transcript order
	cdnaLen  int32
	cdsFrom  int32 // cDNA position (1-based) of the first CDS base in transcript order
	cdsTo    int32 // cDNA position of the last CDS base
	nmd      bool
	isCoding bool
}

// Coding reports whether the transcript has a CDS.
func (t *Transcript) Coding() bool { return t.isCoding }

// NMD reports whether the transcript is a nonsense-mediated-decay target.
func (t *Transcript) NMD() bool { return t.nmd }

// CDNALen is the spliced transcript length.
func (t *Transcript) CDNALen() int32 { return t.cdnaLen }

// CDSRange returns the cDNA positions of the first and last CDS base.
func (t *Transcript) CDSRange() (int32, int32) { return t.cdsFrom, t.cdsTo }

// CDSLen is the length of the coding sequence (0 when non-coding).
func (t *Transcript) CDSLen() int32 {
	if !t.isCoding {
		return 0
	}
	return t.cdsTo - t.cdsFrom + 1
}

// ProteinLen is the number of amino acids the CDS encodes, not counting the stop.
func (t *Transcript) ProteinLen() int32 {
	if !t.isCoding {
		return 0
	}
	n := (t.CDSLen() - int32(t.Phase)) / 3
	if t.Flags&FlagStopOK != 0 && n > 0 {
		n--
	}
	return n
}

// NumExons is the exon count.
func (t *Transcript) NumExons() int { return len(t.Exons) }

// ExonInTxOrder returns the i-th exon counted from the transcript's 5' end.
func (t *Transcript) ExonInTxOrder(i int) Range {
	if t.Strand == Reverse {
		return t.Exons[len(t.Exons)-1-i]
	}
	return t.Exons[i]
}

// Locate describes where genomic position g falls in the transcript.
// For an exonic position it returns the exon rank (1-based, transcript order)
// and the cDNA position; for an intronic one the intron rank, the cDNA
// position of the nearest exon base and the signed offset from it (HGVS
// c.N+k / c.N-k); outside the transcript, exon 0 and cDNA 0.
type Location struct {
	Exonic bool
	Rank   int   // exon rank when exonic, intron rank when intronic, 0 outside
	CDNA   int32 // cDNA position of the base (exonic) or of the anchor exon base (intronic)
	Offset int32 // intronic offset from the anchor (positive: after the exon in transcript order)
}

// Locate maps a genomic position into transcript coordinates.
func (t *Transcript) Locate(g int32) Location {
	if g < t.Start || g > t.End {
		return Location{}
	}
	n := len(t.Exons)
	// binary search the first exon whose End >= g
	i := sort.Search(n, func(k int) bool { return t.Exons[k].End >= g })
	if i < n && t.Exons[i].Start <= g {
		return Location{Exonic: true, Rank: t.txIndex(i) + 1, CDNA: t.cdnaOf(i, g)}
	}
	// intron between exon i-1 and exon i (genomic order)
	left, right := t.Exons[i-1], t.Exons[i]
	dl := g - left.End    // distance from the left exon's last base
	dr := right.Start - g // distance to the right exon's first base
	if t.Strand == Forward {
		rank := i // intron i (1-based) lies after exon i in transcript order
		if dl <= dr {
			return Location{Rank: rank, CDNA: t.cdnaOf(i-1, left.End), Offset: dl}
		}
		return Location{Rank: rank, CDNA: t.cdnaOf(i, right.Start), Offset: -dr}
	}
	rank := n - i
	// transcript order: right exon comes first; the intron starts after right.Start.
	if dr <= dl {
		return Location{Rank: rank, CDNA: t.cdnaOf(i, right.Start), Offset: dr}
	}
	return Location{Rank: rank, CDNA: t.cdnaOf(i-1, left.End), Offset: -dl}
}

// txIndex converts a genomic-order exon index to transcript order.
func (t *Transcript) txIndex(i int) int {
	if t.Strand == Reverse {
		return len(t.Exons) - 1 - i
	}
	return i
}

// cdnaOf is the cDNA position of genomic position g inside exon i (genomic order).
func (t *Transcript) cdnaOf(i int, g int32) int32 {
	k := t.txIndex(i)
	e := t.Exons[i]
	if t.Strand == Forward {
		return t.exonCum[k] + (g - e.Start) + 1
	}
	return t.exonCum[k] + (e.End - g) + 1
}

// GenomicOf maps a cDNA position (1..CDNALen) back to the genome; ok is false
// outside the transcript.
func (t *Transcript) GenomicOf(c int32) (int32, bool) {
	if c < 1 || c > t.cdnaLen {
		return 0, false
	}
	n := len(t.Exons)
	k := sort.Search(n, func(k int) bool { return t.exonCum[k] >= c }) - 1
	if k < 0 {
		k = 0
	}
	e := t.ExonInTxOrder(k)
	off := c - t.exonCum[k] - 1
	if t.Strand == Forward {
		return e.Start + off, true
	}
	return e.End - off, true
}

// Finish validates the transcript and computes its derived tables.
func (t *Transcript) Finish() error {
	if len(t.Exons) == 0 {
		return fmt.Errorf("transcript %s: no exons", t.ID)
	}
	sort.Slice(t.Exons, func(i, j int) bool { return t.Exons[i].Start < t.Exons[j].Start })
	// merge overlapping or touching exons (some files list UTR and CDS pieces separately)
	out := t.Exons[:1]
	for _, e := range t.Exons[1:] {
		last := &out[len(out)-1]
		if e.Start <= last.End+1 {
			if e.End > last.End {
				last.End = e.End
			}
			continue
		}
		out = append(out, e)
	}
	t.Exons = out
	for _, e := range t.Exons {
		if e.Start < 1 || e.End < e.Start {
			return fmt.Errorf("transcript %s: bad exon %d-%d", t.ID, e.Start, e.End)
		}
	}
	t.Start, t.End = t.Exons[0].Start, t.Exons[len(t.Exons)-1].End
	n := len(t.Exons)
	t.exonCum = make([]int32, n)
	var cum int32
	for k := 0; k < n; k++ {
		t.exonCum[k] = cum
		cum += t.ExonInTxOrder(k).Len()
	}
	t.cdnaLen = cum
	t.isCoding = t.CDSStart > 0 && t.CDSEnd >= t.CDSStart
	if t.isCoding {
		if t.CDSStart < t.Start || t.CDSEnd > t.End {
			return fmt.Errorf("transcript %s: CDS %d-%d outside exons %d-%d", t.ID, t.CDSStart, t.CDSEnd, t.Start, t.End)
		}
		a, b := t.Locate(t.CDSStart), t.Locate(t.CDSEnd)
		if !a.Exonic || !b.Exonic {
			return fmt.Errorf("transcript %s: CDS ends %d-%d not in exons", t.ID, t.CDSStart, t.CDSEnd)
		}
		if t.Strand == Forward {
			t.cdsFrom, t.cdsTo = a.CDNA, b.CDNA
		} else {
			t.cdsFrom, t.cdsTo = b.CDNA, a.CDNA
		}
		if t.Phase > 2 {
			t.Phase = 0
		}
		if t.Phase != 0 {
			t.Flags |= FlagStartIncomplete
		}
	}
	t.nmd = strings.EqualFold(t.Biotype, "nonsense_mediated_decay") || t.Biotype == "NMD"
	return nil
}

// ErrNoChromosome is returned when a lookup names a sequence the reference lacks.
var ErrNoChromosome = errors.New("no such chromosome")
