// Package csq predicts the consequences of a variant allele on every nearby
// transcript: Sequence Ontology terms with their impact, HGVS c. and p.
// notation, exon/intron rank and cDNA/CDS/protein positions, written as
// entries of the standard ANN field. It reads a model.Reference and keeps
// per-caller scratch buffers, so one Caller per goroutine annotates without
// allocating on the hot path.
package csq

import (
	"math/bits"
	"strings"
)

// Term is one Sequence Ontology consequence, as a bit so a set is a mask.
// Bits are ordered by severity (most severe first), which is also the order
// they are printed in.
type Term uint32

// Consequence terms.
const (
	SpliceAcceptor Term = 1 << iota
	SpliceDonor
	StopGained
	Frameshift
	StopLost
	StartLost
	InframeInsertion
	InframeDeletion
	Missense
	ProteinAltering
	SpliceRegion
	StartRetained
	StopRetained
	Synonymous
	CodingSequence
	UTR5
	UTR3
	NonCodingExon
	Intron
	NMDTranscript
	NonCodingTranscript
	Upstream
	Downstream
	Intergenic
	SequenceVariant
	numTerms = iota
)

var termNames = [numTerms]string{
	"splice_acceptor_variant", "splice_donor_variant", "stop_gained", "frameshift_variant",
	"stop_lost", "start_lost", "inframe_insertion", "inframe_deletion", "missense_variant",
	"protein_altering_variant", "splice_region_variant", "start_retained_variant",
	"stop_retained_variant", "synonymous_variant", "coding_sequence_variant",
	"5_prime_UTR_variant", "3_prime_UTR_variant", "non_coding_transcript_exon_variant",
	"intron_variant", "NMD_transcript_variant", "non_coding_transcript_variant",
	"upstream_gene_variant", "downstream_gene_variant", "intergenic_variant", "sequence_variant",
}

// Impact classes, in increasing severity.
type Impact uint8

// Impacts.
const (
	Modifier Impact = iota
	Low
	Moderate
	High
)

var impactNames = [...]string{"MODIFIER", "LOW", "MODERATE", "HIGH"}

// String is the ANN spelling.
func (i Impact) String() string { return impactNames[i] }

const (
	highMask     = SpliceAcceptor | SpliceDonor | StopGained | Frameshift | StopLost | StartLost
	moderateMask = InframeInsertion | InframeDeletion | Missense | ProteinAltering
	lowMask      = SpliceRegion | StartRetained | StopRetained | Synonymous
)

// ImpactOf is the impact of the most severe term in a set.
func ImpactOf(t Term) Impact {
	switch {
	case t&highMask != 0:
		return High
	case t&moderateMask != 0:
		return Moderate
	case t&lowMask != 0:
		return Low
	}
	return Modifier
}

// Name is the SO term name of a single term.
func (t Term) Name() string {
	for i := 0; i < numTerms; i++ {
		if t == 1<<i {
			return termNames[i]
		}
	}
	return ""
}

// String joins the set's names with '&', most severe first.
func (t Term) String() string {
	var b strings.Builder
	appendTerms(&b, t)
	return b.String()
}

type byteWriter interface{ WriteString(string) (int, error) }

func appendTerms(b byteWriter, t Term) {
	first := true
	for i := 0; i < numTerms; i++ {
		if t&(1<<i) != 0 {
			if !first {
				b.WriteString("&")
			}
			b.WriteString(termNames[i])
			first = false
		}
	}
}

// AppendTerms appends the '&'-joined names to dst.
func AppendTerms(dst []byte, t Term) []byte {
	first := true
	for t != 0 {
		i := bits.TrailingZeros32(uint32(t))
		t &= t - 1
		if !first {
			dst = append(dst, '&')
		}
		dst = append(dst, termNames[i]...)
		first = false
	}
	return dst
}

// Each calls f for every term in the set, most severe first.
func (t Term) Each(f func(Term)) {
	for i := 0; i < numTerms; i++ {
		if t&(1<<i) != 0 {
			f(1 << i)
		}
	}
}

// TermNames lists the SO name of every term bit, most severe (bit 0) first.
func TermNames() []string { return termNames[:] }

// Severity orders an allele's entries, most severe first: by its most
// severe term (the lowest bit), then MANE Select before canonical before
// other transcripts. The engine writes ANN in this order, so an allele's
// first entry is its most severe one (the "most severe only" pick); ties
// keep the order the entries were predicted in.
func Severity(t Term, w Warning) uint32 {
	k := uint32(bits.TrailingZeros32(uint32(t))) << 2
	if w&WarnMANESelect == 0 {
		k |= 2
	}
	if w&WarnCanonical == 0 {
		k |= 1
	}
	return k
}

// TermByName maps an SO name back to its bit (0 when unknown).
func TermByName(name string) Term {
	for i := 0; i < numTerms; i++ {
		if termNames[i] == name {
			return 1 << i
		}
	}
	return 0
}
