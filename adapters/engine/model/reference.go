package model

import (
	"fmt"
	"sort"
	"strings"
)

// Flank is how many bases of sequence are kept on each side of every exon:
// enough for the splice region (8 bases), codons across exon junctions and
// room to shift intronic indels 3' for HGVS, while keeping a GENCODE-sized
// database small enough to load in a fraction of a second.
const Flank = 64

// Window is the up/downstream distance within which a transcript is reported
// (Sequence Ontology upstream_gene_variant / downstream_gene_variant).
const Window = 5000

// binShift sets the interval index granularity (16 kb bins).
const binShift = 14

// Segment is a stretch of reference sequence starting at Start (1-based).
type Segment struct {
	Start int32
	Seq   []byte // upper-case
}

// End is the last position the segment covers.
func (s Segment) End() int32 { return s.Start + int32(len(s.Seq)) - 1 }

// Chromosome is one reference sequence with the parts of it the engine needs.
type Chromosome struct {
	Name     string // as in the FASTA / gene models
	Length   int32  // 0 when unknown
	Segments []Segment

	// index, built by Reference.Finish
	tx      []int32 // transcript indices sorted by Start
	bins    []int32 // offsets into binList, len = nbins+1
	binList []int32
	// genes of this chromosome sorted by Start, and by End
	genesByStart []int32
	genesByEnd   []int32

	// segment index, built by IndexSequence: segBins[b] is the first
	// segment ending at or after position b<<segShift. It is valid while
	// Segments is the slice it was built for (segOf, segN).
	segBins []int32
	segOf   *Segment
	segN    int
}

// segShift sets the sequence index granularity (16 kb bins).
const segShift = 14

// Reference is everything the annotator knows about a genome build.
type Reference struct {
	Name        string
	Chroms      []Chromosome
	Genes       []Gene
	Transcripts []Transcript

	byKey map[string]int32
}

// ChromKey canonicalises a sequence name so chr1/1, chrX/X and chrM/MT/M
// match across VCF, FASTA and gene models.
func ChromKey(name string) string {
	n := name
	if len(n) > 3 && strings.EqualFold(n[:3], "chr") {
		n = n[3:]
	}
	switch strings.ToUpper(n) {
	case "M", "MT":
		return "MT"
	}
	return n
}

// chromKeyBytes is ChromKey for a byte slice, allocation-free for lookups.
func chromKeyBytes(b []byte) []byte {
	if len(b) > 3 && (b[0]|0x20) == 'c' && (b[1]|0x20) == 'h' && (b[2]|0x20) == 'r' {
		b = b[3:]
	}
	return b
}

// Chrom returns the index of the named chromosome (any naming convention).
func (r *Reference) Chrom(name string) (int32, bool) {
	i, ok := r.byKey[ChromKey(name)]
	return i, ok
}

// ChromBytes is Chrom for a name held in a byte slice; it does not allocate.
func (r *Reference) ChromBytes(name []byte) (int32, bool) {
	k := chromKeyBytes(name)
	if len(k) <= 2 && (string(k) == "M" || string(k) == "m" || string(k) == "MT" || string(k) == "mt" || string(k) == "Mt") {
		i, ok := r.byKey["MT"]
		return i, ok
	}
	i, ok := r.byKey[string(k)]
	return i, ok
}

// AddChrom registers a chromosome (or returns the existing one's index).
func (r *Reference) AddChrom(name string) int32 {
	if r.byKey == nil {
		r.byKey = map[string]int32{}
	}
	k := ChromKey(name)
	if i, ok := r.byKey[k]; ok {
		return i
	}
	r.Chroms = append(r.Chroms, Chromosome{Name: name})
	i := int32(len(r.Chroms) - 1)
	r.byKey[k] = i
	return i
}

// Seq returns the reference bases from start to end (1-based, inclusive) or
// nil when the stored sequence does not cover them all. The slice aliases
// the reference: callers must not modify it.
func (r *Reference) Seq(chrom int32, start, end int32) []byte {
	if chrom < 0 || int(chrom) >= len(r.Chroms) || end < start || start < 1 {
		return nil
	}
	segs := r.Chroms[chrom].Segments
	i := r.segmentAt(chrom, start)
	if i == len(segs) || segs[i].Start > start || segs[i].End() < end {
		return nil
	}
	off := start - segs[i].Start
	return segs[i].Seq[off : off+end-start+1]
}

// segmentAt is the index of the first segment of chrom ending at or after
// pos (len(Segments) when none does).
func (r *Reference) segmentAt(chrom int32, pos int32) int {
	c := &r.Chroms[chrom]
	segs := c.Segments
	if b := int(pos >> segShift); c.segN == len(segs) && len(segs) > 0 && c.segOf == &segs[0] && b < len(c.segBins) {
		// the bin gives the first candidate; a few steps find the segment
		i := int(c.segBins[b])
		for i < len(segs) && segs[i].Start+int32(len(segs[i].Seq)) <= pos {
			i++
		}
		return i
	}
	return sort.Search(len(segs), func(k int) bool { return segs[k].End() >= pos })
}

// SeqCursor makes Seq cheaper for a caller that looks up nearby positions
// in turn, as an annotator walking a sorted VCF does: it remembers the
// segment (or the gap between segments) of the last lookup. The zero value
// is ready to use; a cursor belongs to one goroutine and one Reference.
type SeqCursor struct {
	ok     bool
	chrom  int32
	lo, hi int32  // the remembered stretch: positions lo..hi
	seq    []byte // its bases, or nil for a gap without sequence
}

// SeqAt is Seq through a cursor.
func (r *Reference) SeqAt(cur *SeqCursor, chrom int32, start, end int32) []byte {
	if cur.ok && chrom == cur.chrom && start >= cur.lo && start <= cur.hi && end >= start {
		if cur.seq == nil {
			return nil // start lies where no sequence is stored
		}
		if end <= cur.hi {
			return cur.seq[start-cur.lo : end-cur.lo+1]
		}
		return nil // runs past the segment's end, as Seq would refuse it
	}
	if chrom < 0 || int(chrom) >= len(r.Chroms) || end < start || start < 1 {
		return nil
	}
	segs := r.Chroms[chrom].Segments
	i := r.segmentAt(chrom, start)
	cur.ok, cur.chrom = true, chrom
	switch {
	case i < len(segs) && segs[i].Start <= start:
		cur.lo, cur.hi, cur.seq = segs[i].Start, segs[i].End(), segs[i].Seq
	default: // a gap: after segment i-1, before segment i
		cur.lo, cur.hi, cur.seq = 1, 1<<31-1, nil
		if i > 0 {
			cur.lo = segs[i-1].End() + 1
		}
		if i < len(segs) {
			cur.hi = segs[i].Start - 1
		}
	}
	return r.SeqAt(cur, chrom, start, end)
}

// IndexSequence sorts each chromosome's segments and indexes them so Seq
// finds a position in a step or two instead of a binary search over
// thousands of segments (Seq is on the annotator's hot path: every REF
// check, codon and HGVS shift). Loaders call it once the sequence is in
// place; Seq stays correct, only slower, on segments changed afterwards.
func (r *Reference) IndexSequence() {
	for ci := range r.Chroms {
		c := &r.Chroms[ci]
		segs := c.Segments
		sort.Slice(segs, func(i, j int) bool { return segs[i].Start < segs[j].Start })
		c.segBins, c.segOf, c.segN = nil, nil, 0
		if len(segs) == 0 {
			continue
		}
		last := segs[len(segs)-1].End()
		bins := make([]int32, int(last>>segShift)+1)
		i := 0
		for b := range bins {
			lo := int32(b) << segShift
			for i < len(segs) && segs[i].End() < lo {
				i++
			}
			bins[b] = int32(i)
		}
		c.segBins, c.segOf, c.segN = bins, &segs[0], len(segs)
	}
}

// Base returns one reference base, or 0 when unknown.
func (r *Reference) Base(chrom int32, pos int32) byte {
	s := r.Seq(chrom, pos, pos)
	if s == nil {
		return 0
	}
	return s[0]
}

// Finish validates transcripts, sorts everything and builds the indexes. It
// must be called once after loading and before any lookup.
func (r *Reference) Finish() error {
	if r.byKey == nil {
		r.byKey = map[string]int32{}
	}
	for i := range r.Chroms {
		r.byKey[ChromKey(r.Chroms[i].Name)] = int32(i)
	}
	for i := range r.Transcripts {
		if err := r.Transcripts[i].Finish(); err != nil {
			return err
		}
	}
	r.IndexSequence()
	for ci := range r.Chroms {
		c := &r.Chroms[ci]
		c.tx = c.tx[:0]
		c.genesByStart, c.genesByEnd = c.genesByStart[:0], c.genesByEnd[:0]
	}
	for i := range r.Transcripts {
		t := &r.Transcripts[i]
		if int(t.Chrom) >= len(r.Chroms) || t.Chrom < 0 {
			return fmt.Errorf("transcript %s: bad chromosome index", t.ID)
		}
		r.Chroms[t.Chrom].tx = append(r.Chroms[t.Chrom].tx, int32(i))
	}
	for i := range r.Genes {
		g := &r.Genes[i]
		if int(g.Chrom) >= len(r.Chroms) || g.Chrom < 0 {
			return fmt.Errorf("gene %s: bad chromosome index", g.ID)
		}
		r.Chroms[g.Chrom].genesByStart = append(r.Chroms[g.Chrom].genesByStart, int32(i))
	}
	for ci := range r.Chroms {
		c := &r.Chroms[ci]
		sort.SliceStable(c.tx, func(i, j int) bool {
			a, b := &r.Transcripts[c.tx[i]], &r.Transcripts[c.tx[j]]
			if a.Start != b.Start {
				return a.Start < b.Start
			}
			return a.ID < b.ID
		})
		c.genesByEnd = append([]int32(nil), c.genesByStart...)
		sort.SliceStable(c.genesByStart, func(i, j int) bool { return r.Genes[c.genesByStart[i]].Start < r.Genes[c.genesByStart[j]].Start })
		sort.SliceStable(c.genesByEnd, func(i, j int) bool { return r.Genes[c.genesByEnd[i]].End < r.Genes[c.genesByEnd[j]].End })
		r.buildBins(c)
	}
	return nil
}

func (r *Reference) buildBins(c *Chromosome) {
	var maxEnd int32
	for _, ti := range c.tx {
		if e := r.Transcripts[ti].End + Window; e > maxEnd {
			maxEnd = e
		}
	}
	nb := int(maxEnd>>binShift) + 1
	counts := make([]int32, nb+1)
	for _, ti := range c.tx {
		t := &r.Transcripts[ti]
		lo, hi := binRange(t.Start-Window, t.End+Window)
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	list := make([]int32, counts[nb])
	fill := append([]int32(nil), counts[:nb]...)
	for _, ti := range c.tx { // c.tx is sorted by start, so each bin's list is too
		t := &r.Transcripts[ti]
		lo, hi := binRange(t.Start-Window, t.End+Window)
		for b := lo; b <= hi; b++ {
			list[fill[b]] = ti
			fill[b]++
		}
	}
	c.bins, c.binList = counts, list
}

func binRange(a, b int32) (int, int) {
	if a < 0 {
		a = 0
	}
	return int(a >> binShift), int(b >> binShift)
}

// Near appends to dst the transcripts whose span extended by Window on each
// side overlaps [start, end], in order of transcript start.
func (r *Reference) Near(dst []int32, chrom int32, start, end int32) []int32 {
	if chrom < 0 || int(chrom) >= len(r.Chroms) {
		return dst
	}
	c := &r.Chroms[chrom]
	if len(c.bins) == 0 {
		return dst
	}
	nb := len(c.bins) - 1
	lo, hi := binRange(start, end)
	if lo >= nb {
		return dst
	}
	if hi >= nb {
		hi = nb - 1
	}
	n0 := len(dst)
	for b := lo; b <= hi; b++ {
		for _, ti := range c.binList[c.bins[b]:c.bins[b+1]] {
			t := &r.Transcripts[ti]
			if t.Start-Window > end || t.End+Window < start {
				continue
			}
			if b > lo && dupIn(dst[n0:], ti) {
				continue
			}
			dst = append(dst, ti)
		}
	}
	return dst
}

func dupIn(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// NearestGene returns the gene closest to [start, end] on the chromosome and
// its distance in bases, or -1 when the chromosome has no genes.
func (r *Reference) NearestGene(chrom int32, start, end int32) (int32, int32) {
	if chrom < 0 || int(chrom) >= len(r.Chroms) {
		return -1, 0
	}
	c := &r.Chroms[chrom]
	best, bestD := int32(-1), int32(0)
	// the gene ending last before start
	i := sort.Search(len(c.genesByEnd), func(k int) bool { return r.Genes[c.genesByEnd[k]].End >= start })
	if i > 0 {
		g := c.genesByEnd[i-1]
		best, bestD = g, start-r.Genes[g].End
	}
	// the gene starting first after end
	j := sort.Search(len(c.genesByStart), func(k int) bool { return r.Genes[c.genesByStart[k]].Start > end })
	if j < len(c.genesByStart) {
		g := c.genesByStart[j]
		if d := r.Genes[g].Start - end; best < 0 || d < bestD {
			best, bestD = g, d
		}
	}
	if best < 0 && len(c.genesByStart) > 0 { // overlapping genes only
		best = c.genesByStart[0]
	}
	return best, bestD
}

// GeneGap describes the gene-free stretch around [start, end]: the gene
// ending last before it (left, ending at lo) and the gene starting first
// after it (right, starting at hi); -1 when there is none. ok positions
// strictly between lo and hi see the same nearest-gene answer structure.
// When a gene overlaps [start, end], lo == hi == 0 is returned so callers
// do not cache.
func (r *Reference) GeneGap(chrom int32, start, end int32) (left, right, lo, hi int32) {
	left, right = -1, -1
	if chrom < 0 || int(chrom) >= len(r.Chroms) {
		return
	}
	c := &r.Chroms[chrom]
	i := sort.Search(len(c.genesByEnd), func(k int) bool { return r.Genes[c.genesByEnd[k]].End >= start })
	if i > 0 {
		left = c.genesByEnd[i-1]
		lo = r.Genes[left].End
	}
	j := sort.Search(len(c.genesByStart), func(k int) bool { return r.Genes[c.genesByStart[k]].Start > end })
	if j < len(c.genesByStart) {
		right = c.genesByStart[j]
		hi = r.Genes[right].Start
	} else {
		hi = 1<<31 - 1
	}
	// a gene overlapping the query (or starting before it and ending after)
	// breaks the gap assumption: do not let callers cache
	if i < len(c.genesByEnd) && r.Genes[c.genesByEnd[i]].Start <= end {
		return left, right, 0, 0
	}
	if j > 0 && r.Genes[c.genesByStart[j-1]].End >= start {
		return left, right, 0, 0
	}
	return
}

// Summary counts what the reference holds, for logs and tests.
func (r *Reference) Summary() string {
	var coding, canonical, mane, bases int
	for i := range r.Transcripts {
		t := &r.Transcripts[i]
		if t.Coding() {
			coding++
		}
		if t.Canonical() {
			canonical++
		}
		if t.MANESelect() {
			mane++
		}
	}
	for _, c := range r.Chroms {
		for _, s := range c.Segments {
			bases += len(s.Seq)
		}
	}
	return fmt.Sprintf("%d chromosomes, %d genes, %d transcripts (%d coding, %d canonical, %d MANE Select), %d bases of sequence",
		len(r.Chroms), len(r.Genes), len(r.Transcripts), coding, canonical, mane, bases)
}
