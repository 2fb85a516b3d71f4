package model

import (
	"fmt"
	"sort"
	"strings"
)

// FeatureKind is what a gene-model line describes, independent of the
// spelling of the file format (GFF3 flavours and GTF name them differently).
type FeatureKind uint8

// Feature kinds the builder understands.
const (
	KindOther FeatureKind = iota
	KindGene
	KindTranscript
	KindExon
	KindCDS
	KindUTR5
	KindUTR3
	KindUTR // UTR of unknown side (GTF "UTR"): decided from the CDS position
	KindStartCodon
	KindStopCodon
)

// Feature is one parsed gene-model line.
type Feature struct {
	Kind   FeatureKind
	Chrom  string
	Start  int32
	End    int32
	Strand Strand
	Phase  int8 // -1 when "."
	ID     string
	// Parents may be reused by the parser once Add returns: the Builder
	// copies what it keeps.
	Parents []string
	// gene/transcript attributes (whatever the file offers)
	Name, Biotype string
	// Label is the identifier to show (transcript_id / gene_id attribute);
	// when empty the ID is shown without its "transcript:"/"gene:" prefix.
	Label string
	Tags  string // comma-separated tags (cds_start_NF, ...)
}

// DisplayID strips the type prefixes GFF3 flavours put on identifiers
// (Ensembl "transcript:", "gene:"; RefSeq "rna-", "gene-").
func DisplayID(id string) string {
	for _, p := range []string{"transcript:", "gene:", "rna-", "gene-", "Transcript:", "Gene:"} {
		if strings.HasPrefix(id, p) {
			return id[len(p):]
		}
	}
	return id
}

type bTx struct {
	id, label, parent, chrom, biotype, name, tags string
	strand                                        Strand
	start, end                                    int32
	exons, parts                                  []Range
	cds                                           []cdsPart
	explicit                                      bool // declared by its own line
}

type cdsPart struct {
	r     Range
	phase int8
}

type bGene struct {
	id, label, name, biotype, chrom string
	strand                          Strand
	start, end                      int32
}

// Builder assembles genes and transcripts from features in any order, the
// way GFF3 and GTF files present them (children may precede parents).
type Builder struct {
	genes   map[string]*bGene
	txs     map[string]*bTx
	txOrder []string
	gOrder  []string
	chroms  []string
	chromOK map[string]bool
}

// NewBuilder starts an empty reference.
func NewBuilder() *Builder {
	return &Builder{genes: map[string]*bGene{}, txs: map[string]*bTx{}, chromOK: map[string]bool{}}
}

func (b *Builder) noteChrom(c string) {
	if !b.chromOK[c] {
		b.chromOK[c] = true
		b.chroms = append(b.chroms, c)
	}
}

func (b *Builder) tx(id string) *bTx {
	t := b.txs[id]
	if t == nil {
		t = &bTx{id: id}
		b.txs[id] = t
		b.txOrder = append(b.txOrder, id)
	}
	return t
}

// Add records one feature.
func (b *Builder) Add(f Feature) {
	switch f.Kind {
	case KindGene:
		b.noteChrom(f.Chrom)
		g := b.genes[f.ID]
		if g == nil {
			g = &bGene{id: f.ID}
			b.genes[f.ID] = g
			b.gOrder = append(b.gOrder, f.ID)
		}
		g.name, g.biotype, g.chrom, g.strand, g.start, g.end, g.label = f.Name, f.Biotype, f.Chrom, f.Strand, f.Start, f.End, f.Label
	case KindTranscript:
		b.noteChrom(f.Chrom)
		t := b.tx(f.ID)
		t.explicit = true
		t.chrom, t.strand, t.start, t.end = f.Chrom, f.Strand, f.Start, f.End
		if f.Biotype != "" {
			t.biotype = f.Biotype
		}
		if f.Name != "" {
			t.name = f.Name
		}
		if f.Tags != "" {
			t.tags = f.Tags
		}
		if f.Label != "" {
			t.label = f.Label
		}
		if len(f.Parents) > 0 {
			t.parent = f.Parents[0]
		}
	case KindExon, KindCDS, KindUTR5, KindUTR3, KindUTR, KindStartCodon, KindStopCodon:
		b.noteChrom(f.Chrom)
		for _, p := range f.Parents {
			t := b.tx(p)
			if t.chrom == "" {
				t.chrom, t.strand = f.Chrom, f.Strand
			}
			r := Range{f.Start, f.End}
			switch f.Kind {
			case KindExon:
				t.exons = append(t.exons, r)
			case KindCDS:
				t.cds = append(t.cds, cdsPart{r, f.Phase})
				t.parts = append(t.parts, r)
			case KindStartCodon, KindStopCodon:
				t.cds = append(t.cds, cdsPart{r, -2}) // extends the CDS, phase unknown
				t.parts = append(t.parts, r)
			default:
				t.parts = append(t.parts, r)
			}
		}
	}
}

// Chroms lists chromosome names in order of first appearance.
func (b *Builder) Chroms() []string { return b.chroms }

// Build turns the collected features into a Reference (without sequence):
// one transcript per ID with its exons (or, lacking exons, its CDS and UTR
// pieces), CDS span, phase and flags, under its gene; gene spans widen to
// their transcripts. Transcripts without exons, CDS or UTR pieces are
// dropped; transcripts whose parent gene was never declared get a gene of
// their own.
func (b *Builder) Build(name string) (*Reference, error) {
	r := &Reference{Name: name}
	for _, c := range b.chroms {
		r.AddChrom(c)
	}
	genes := geneTable{r: r, idx: map[string]int32{}}
	for _, id := range b.txOrder {
		t := b.txs[id]
		if len(t.exons) == 0 && len(t.parts) == 0 {
			continue // a declared transcript with no structure, or a gene line seen as parent
		}
		if t.chrom == "" {
			return nil, fmt.Errorf("transcript %s: no sequence name", id)
		}
		tr := t.transcript()
		g := b.geneOf(t, tr.Strand)
		tr.Biotype = t.biotypeUnder(g)
		if g.chrom == "" {
			g.chrom, g.strand = t.chrom, tr.Strand
		}
		tr.Chrom = r.AddChrom(t.chrom)
		tr.Gene = genes.add(g)
		if err := tr.Finish(); err != nil {
			return nil, err
		}
		r.Transcripts = append(r.Transcripts, tr)
	}
	widenGenes(r)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// transcript makes the Transcript of t (without its chromosome and gene).
func (t *bTx) transcript() Transcript {
	exons := t.exons
	if len(exons) == 0 {
		exons = t.parts
	}
	label := t.label
	if label == "" {
		label = DisplayID(t.id)
	}
	tr := Transcript{ID: label, Biotype: t.biotype, Strand: t.strand, Exons: append([]Range(nil), exons...)}
	if tr.Strand == 0 {
		tr.Strand = Forward
	}
	if strings.Contains(t.tags, "cds_start_NF") {
		tr.Flags |= FlagStartIncomplete
	}
	if strings.Contains(t.tags, "cds_end_NF") {
		tr.Flags |= FlagEndIncomplete
	}
	tr.Flags |= selectionFlags(t.tags)
	if len(t.cds) > 0 {
		tr.CDSStart, tr.CDSEnd = t.cdsSpan()
		tr.Phase = t.startPhase(tr.Strand, tr.CDSStart, tr.CDSEnd)
	}
	return tr
}

// selectionFlags reads the transcript-selection tags of a comma-separated
// tag list in any flavour's spelling: Ensembl and GENCODE write
// Ensembl_canonical and MANE_Select, NCBI RefSeq "RefSeq Select" and
// "MANE Select". A MANE Select transcript is also canonical (Ensembl makes
// it so from release 104; RefSeq Select includes every MANE Select).
func selectionFlags(tags string) uint8 {
	var f uint8
	for tag := range strings.SplitSeq(tags, ",") {
		switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), " ", "_")) {
		case "mane_select":
			f |= FlagMANESelect | FlagCanonical
		case "ensembl_canonical", "refseq_select", "canonical":
			f |= FlagCanonical
		}
	}
	return f
}

// cdsSpan is the genomic span of the CDS pieces.
func (t *bTx) cdsSpan() (lo, hi int32) {
	lo, hi = t.cds[0].r.Start, t.cds[0].r.End
	for _, c := range t.cds[1:] {
		lo, hi = min(lo, c.r.Start), max(hi, c.r.End)
	}
	return lo, hi
}

// startPhase is the phase of the first CDS piece in transcript order, when
// that piece really is where the CDS (lo..hi) begins; 0 otherwise.
func (t *bTx) startPhase(strand Strand, lo, hi int32) uint8 {
	first := -1
	for i, c := range t.cds {
		if c.phase == -2 {
			continue
		}
		if first < 0 || (strand == Forward && c.r.Start < t.cds[first].r.Start) || (strand == Reverse && c.r.End > t.cds[first].r.End) {
			first = i
		}
	}
	if first < 0 || t.cds[first].phase <= 0 {
		return 0
	}
	c := t.cds[first].r
	if (strand == Forward && c.Start == lo) || (strand == Reverse && c.End == hi) {
		return uint8(t.cds[first].phase)
	}
	return 0
}

// geneOf finds the gene of t: its parent; the parent of a structureless
// transcript-like parent; the gene t's exons hang off directly; or, when
// the file has none, a gene made up from the transcript.
func (b *Builder) geneOf(t *bTx, strand Strand) *bGene {
	var g *bGene
	if t.parent != "" {
		g = b.genes[t.parent]
		if g == nil {
			if pt := b.txs[t.parent]; pt != nil && pt.explicit && len(pt.exons) == 0 && len(pt.parts) == 0 && pt.parent != "" {
				g = b.genes[pt.parent]
			}
		}
	}
	if g == nil {
		g = b.genes[t.id] // exons hanging directly off a gene
	}
	if g == nil {
		gid := t.parent
		if gid == "" {
			gid = t.id
		}
		g = &bGene{id: gid, name: t.name, biotype: t.biotype, chrom: t.chrom, strand: strand}
		b.genes[gid] = g
	}
	return g
}

// biotypeUnder is t's biotype, else its gene's, else protein_coding or
// transcript by whether it has a CDS.
func (t *bTx) biotypeUnder(g *bGene) string {
	switch {
	case t.biotype != "":
		return t.biotype
	case g.biotype != "":
		return g.biotype
	case len(t.cds) > 0:
		return "protein_coding"
	}
	return "transcript"
}

// geneTable adds each builder gene to the Reference once.
type geneTable struct {
	r   *Reference
	idx map[string]int32
}

func (gt *geneTable) add(g *bGene) int32 {
	if i, ok := gt.idx[g.id]; ok {
		return i
	}
	ci := gt.r.AddChrom(g.chrom)
	gid := g.label
	if gid == "" {
		gid = DisplayID(g.id)
	}
	nm := g.name
	if nm == "" {
		nm = gid
	}
	gt.r.Genes = append(gt.r.Genes, Gene{ID: gid, Name: nm, Biotype: g.biotype, Chrom: ci, Start: g.start, End: g.end, Strand: g.strand})
	i := int32(len(gt.r.Genes) - 1)
	gt.idx[g.id] = i
	return i
}

// widenGenes stretches gene spans over their transcripts (some files omit
// gene lines).
func widenGenes(r *Reference) {
	for i := range r.Transcripts {
		t := &r.Transcripts[i]
		g := &r.Genes[t.Gene]
		if g.Start == 0 || t.Start < g.Start {
			g.Start = t.Start
		}
		if t.End > g.End {
			g.End = t.End
		}
	}
}

// NeededRegions lists, per chromosome index, the merged regions whose
// sequence the annotator needs: every exon with Flank bases on each side.
func (r *Reference) NeededRegions() [][]Range {
	out := make([][]Range, len(r.Chroms))
	for i := range r.Transcripts {
		t := &r.Transcripts[i]
		for _, e := range t.Exons {
			s := e.Start - Flank
			if s < 1 {
				s = 1
			}
			out[t.Chrom] = append(out[t.Chrom], Range{s, e.End + Flank})
		}
	}
	for c := range out {
		rs := out[c]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
		m := rs[:0]
		for _, x := range rs {
			if len(m) > 0 && x.Start <= m[len(m)-1].End+1 {
				if x.End > m[len(m)-1].End {
					m[len(m)-1].End = x.End
				}
				continue
			}
			m = append(m, x)
		}
		out[c] = m
	}
	return out
}

// CheckCodons indexes the sequence once it is loaded (IndexSequence) and
// inspects each coding transcript's first and last codon, setting
// FlagStartOK/FlagStopOK.
func (r *Reference) CheckCodons() {
	r.IndexSequence()
	for i := range r.Transcripts {
		t := &r.Transcripts[i]
		if !t.Coding() {
			continue
		}
		t.Flags &^= FlagStartOK | FlagStopOK
		var c [3]byte
		if t.Phase == 0 && t.Flags&FlagStartIncomplete == 0 && r.codonAt(t, t.cdsFrom, &c) && string(c[:]) == "ATG" {
			t.Flags |= FlagStartOK
		}
		if (t.CDSLen()-int32(t.Phase))%3 == 0 && r.codonAt(t, t.cdsTo-2, &c) && Translate(c[0], c[1], c[2]) == '*' {
			t.Flags |= FlagStopOK
		}
	}
}

// codonAt reads the three cDNA bases starting at cDNA position c.
func (r *Reference) codonAt(t *Transcript, c int32, out *[3]byte) bool {
	for k := int32(0); k < 3; k++ {
		g, ok := t.GenomicOf(c + k)
		if !ok {
			return false
		}
		b := r.Base(t.Chrom, g)
		if b == 0 {
			return false
		}
		if t.Strand == Reverse {
			b = Complement(b)
		}
		out[k] = b
	}
	return true
}
