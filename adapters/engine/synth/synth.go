// Package synth generates deterministic synthetic references: a genome
// FASTA, Ensembl-style GFF3 gene models (multi-exon coding and non-coding
// transcripts on both strands, UTRs, phases, alternative isoforms), a VCF of
// SNVs and small indels with a chosen share inside transcripts, and a
// known-variants VCF. GAS uses them for its local-mode default reference,
// for its benchmark against bcftools csq and SnpEff, and for differential
// tests: the same seed always gives byte-identical files, and variants are
// streamed so ten million of them never sit in memory.
package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
)

// Config sizes a synthetic reference. The zero value is not valid; start
// from Small or Benchmark.
type Config struct {
	Seed          uint64
	Chroms        int     // number of chromosomes, named ChromPrefix+"1"..
	ChromLen      int     // length of each chromosome
	GenesPerChrom int     // genes per chromosome, one per equal slot
	Variants      int     // records in the variants VCF
	IndelFrac     float64 // share of variants that are insertions or deletions
	MNVFrac       float64 // share of variants that are 2-3 bp substitutions
	MultiFrac     float64 // share of records with two ALT alleles
	CodingFrac    float64 // share of variants placed inside transcript spans
	NoncodingFrac float64 // share of genes that are lncRNA
	AltIsoFrac    float64 // share of coding genes given extra isoforms
	KnownFrac     float64 // share of variants also present in the known VCF
	ChromPrefix   string  // "chr" or "" (Ensembl style)
	// NoncodingBiotype names the biotype of non-coding genes. Small and
	// Benchmark use "lincRNA", the older Ensembl name, because bcftools
	// csq 1.16 (the differential oracle) ignores transcripts typed with the
	// newer "lncRNA"; real Ensembl files since release 100 say "lncRNA".
	NoncodingBiotype string
}

// Small is the local-mode default reference: 2 chromosomes of 300 kb, about
// 60 genes and 2,000 variants; generated in well under a second.
func Small() Config {
	return Config{
		Seed: 1, Chroms: 2, ChromLen: 300_000, GenesPerChrom: 30, Variants: 2_000,
		IndelFrac: 0.15, MNVFrac: 0.01, MultiFrac: 0.01, CodingFrac: 0.5,
		NoncodingFrac: 0.15, AltIsoFrac: 0.3, KnownFrac: 0.4, ChromPrefix: "chr", NoncodingBiotype: "lincRNA",
	}
}

// Benchmark is the benchmark set: a 20 Mb genome in 4 chromosomes
// with 1,000 genes (about 1,000 coding multi-exon transcripts plus
// isoforms) and the given number of SNVs and small indels (1,000,000 for the
// headline figure; 10k/100k/10M for the scaling table).
func Benchmark(variants int) Config {
	return Config{
		Seed: 20240601, Chroms: 4, ChromLen: 5_000_000, GenesPerChrom: 250, Variants: variants,
		IndelFrac: 0.15, CodingFrac: 0.3, NoncodingFrac: 0.15, AltIsoFrac: 0.2,
		KnownFrac: 0.3, ChromPrefix: "chr", NoncodingBiotype: "lincRNA",
	}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("synth: invalid config")

// Validate rejects configurations the generator cannot honour.
func (c Config) Validate() error {
	frac := func(name string, v float64) error {
		if v < 0 || v > 1 {
			return fmt.Errorf("%w: %s %v not in [0,1]", ErrConfig, name, v)
		}
		return nil
	}
	switch {
	case c.Chroms < 1 || c.Chroms > 1000:
		return fmt.Errorf("%w: chroms %d", ErrConfig, c.Chroms)
	case c.ChromLen < 10_000:
		return fmt.Errorf("%w: chromosome length %d under 10 kb", ErrConfig, c.ChromLen)
	case c.GenesPerChrom < 0 || (c.GenesPerChrom > 0 && c.ChromLen/c.GenesPerChrom < 5_000):
		return fmt.Errorf("%w: %d genes do not fit %d bp (need 5 kb each)", ErrConfig, c.GenesPerChrom, c.ChromLen)
	case c.Variants < 0:
		return fmt.Errorf("%w: negative variant count", ErrConfig)
	case c.Variants > c.Chroms*(c.ChromLen-30):
		return fmt.Errorf("%w: %d variants exceed the %d positions", ErrConfig, c.Variants, c.Chroms*(c.ChromLen-30))
	case c.NoncodingBiotype == "":
		return fmt.Errorf("%w: empty NoncodingBiotype", ErrConfig)
	case c.IndelFrac+c.MNVFrac > 1:
		return fmt.Errorf("%w: indel and MNV shares exceed 1", ErrConfig)
	}
	for _, f := range []struct {
		n string
		v float64
	}{{"IndelFrac", c.IndelFrac}, {"MNVFrac", c.MNVFrac}, {"MultiFrac", c.MultiFrac}, {"CodingFrac", c.CodingFrac},
		{"NoncodingFrac", c.NoncodingFrac}, {"AltIsoFrac", c.AltIsoFrac}, {"KnownFrac", c.KnownFrac}} {
		if err := frac(f.n, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Exon is a genomic interval, 1-based and inclusive like GFF3.
type Exon struct{ Start, End int64 }

// Transcript is one synthetic gene model.
type Transcript struct {
	ID, Name, Biotype string
	Gene              *Gene
	Exons             []Exon // ascending genomic order
	CDSStart, CDSEnd  int64  // genomic, inclusive; zero for non-coding
	ProteinID         string
	exonIDs           []string
}

// Coding reports whether the transcript has a CDS.
func (t *Transcript) Coding() bool { return t.CDSStart > 0 }

// Gene groups transcripts.
type Gene struct {
	ID, Name, Biotype string
	Chrom             string
	Strand            byte // '+' or '-'
	Start, End        int64
	Transcripts       []*Transcript
}

// Genome is a generated reference held in memory (one byte per base: 20 MB
// for the benchmark genome); variants are generated from it on demand.
type Genome struct {
	cfg    Config
	names  []string
	seqs   [][]byte
	genes  [][]*Gene
	spans  [][]Exon // per chromosome: merged transcript spans
	nTx    int
	nextTx int
}

// Config returns the configuration the genome was generated from.
func (g *Genome) Config() Config { return g.cfg }

// Chroms lists chromosome names in file order.
func (g *Genome) Chroms() []string { return append([]string(nil), g.names...) }

// Sequence returns the bases of a chromosome (do not modify) or nil.
func (g *Genome) Sequence(chrom string) []byte {
	for i, n := range g.names {
		if n == chrom {
			return g.seqs[i]
		}
	}
	return nil
}

// Genes lists all genes in file order.
func (g *Genome) Genes() []*Gene {
	var out []*Gene
	for _, gs := range g.genes {
		out = append(out, gs...)
	}
	return out
}

// TranscriptCount is the number of transcripts in the gene models.
func (g *Genome) TranscriptCount() int { return g.nTx }

const bases = "ACGT"

var complement = [256]byte{'A': 'T', 'C': 'G', 'G': 'C', 'T': 'A'}

// sense codons exclude the three stops so random CDSs have no premature stop.
var senseCodons, stopCodons = func() ([]string, []string) {
	var s []string
	for _, a := range bases {
		for _, b := range bases {
			for _, c := range bases {
				cod := string([]rune{a, b, c})
				if cod != "TAA" && cod != "TAG" && cod != "TGA" {
					s = append(s, cod)
				}
			}
		}
	}
	return s, []string{"TAA", "TAG", "TGA"}
}()

// New generates the genome and gene models for cfg.
func New(cfg Config) (*Genome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	g := &Genome{cfg: cfg}
	gid := 0
	for ci := 0; ci < cfg.Chroms; ci++ {
		name := fmt.Sprintf("%s%d", cfg.ChromPrefix, ci+1)
		seq := randomSeq(rng, cfg.ChromLen)
		var genes []*Gene
		if cfg.GenesPerChrom > 0 {
			slot := cfg.ChromLen / cfg.GenesPerChrom
			for k := 0; k < cfg.GenesPerChrom; k++ {
				gid++
				genes = append(genes, g.makeGene(rng, name, seq, gid, int64(k*slot), int64(slot)))
			}
		}
		g.names = append(g.names, name)
		g.seqs = append(g.seqs, seq)
		g.genes = append(g.genes, genes)
		g.spans = append(g.spans, mergeSpans(genes))
	}
	return g, nil
}

func randomSeq(rng *rand.Rand, n int) []byte {
	s := make([]byte, n)
	for i := 0; i < n; i += 32 {
		v := rng.Uint64()
		for j := i; j < i+32 && j < n; j++ {
			s[j] = bases[v&3]
			v >>= 2
		}
	}
	return s
}

func between(rng *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + rng.IntN(hi-lo+1)
}

// makeGene lays out one gene in the slot [slotStart, slotStart+slot) and
// writes its splice sites and CDS into seq (0-based). The random draws
// happen in a fixed order, so a seed always gives the same genome.
func (g *Genome) makeGene(rng *rand.Rand, chrom string, seq []byte, gid int, slotStart, slot int64) *Gene {
	strand := byte('+')
	if rng.IntN(2) == 1 {
		strand = '-'
	}
	exons := layoutExons(rng, slotStart, slot)
	writeSpliceSites(seq, exons, strand)
	gx := make([]Exon, len(exons)) // 1-based inclusive, as in GFF3
	tlen := 0
	for i, e := range exons {
		gx[i] = Exon{e.Start + 1, e.End}
		tlen += int(e.End - e.Start)
	}
	coding := rng.Float64() >= g.cfg.NoncodingFrac && tlen >= 150
	gene := &Gene{
		ID: fmt.Sprintf("ENSG%011d", gid), Name: fmt.Sprintf("G%05d", gid),
		Chrom: chrom, Strand: strand, Start: gx[0].Start, End: gx[len(gx)-1].End,
		Biotype: g.cfg.NoncodingBiotype,
	}
	main := g.newTranscript(gene, gx)
	if !coding {
		main.Biotype = g.cfg.NoncodingBiotype
		gene.Transcripts = append(gene.Transcripts, main)
		return gene
	}
	gene.Biotype = "protein_coding"
	main.Biotype = "protein_coding"
	main.CDSStart, main.CDSEnd = writeCDS(rng, seq, gx, strand, tlen)
	main.ProteinID = "ENSP" + main.ID[4:]
	gene.Transcripts = append(gene.Transcripts, main)
	if rng.Float64() < g.cfg.AltIsoFrac {
		g.addIsoforms(rng, gene, main)
	}
	return gene
}

// layoutExons places 1-12 exons (60-400 bp, introns of 80 bp up to 3 kb)
// from a random start in the slot, dropping exons until the gene ends
// 2 kb before the slot does. The exons are 0-based half-open.
func layoutExons(rng *rand.Rand, slotStart, slot int64) []Exon {
	start := slotStart + int64(between(rng, 2000, int(slot/4)))
	limit := slotStart + slot - 2000
	nex := between(rng, 2, 12)
	if rng.IntN(10) == 0 {
		nex = 1
	}
	var exl, inl []int
	for {
		exl, inl = exl[:0], inl[:0]
		for i := 0; i < nex; i++ {
			exl = append(exl, between(rng, 60, 400))
		}
		for i := 0; i < nex-1; i++ {
			inl = append(inl, between(rng, 80, min(3000, int(slot)/(3*nex))))
		}
		span := 0
		for _, v := range exl {
			span += v
		}
		for _, v := range inl {
			span += v
		}
		if start+int64(span) < limit || nex == 1 {
			break
		}
		nex--
	}
	exons := make([]Exon, nex)
	p := start
	for i := 0; i < nex; i++ {
		exons[i] = Exon{p, p + int64(exl[i])}
		p += int64(exl[i])
		if i < len(inl) {
			p += int64(inl[i])
		}
	}
	return exons
}

// writeSpliceSites makes every intron between the 0-based half-open exons
// a canonical GT..AG one in transcript orientation.
func writeSpliceSites(seq []byte, exons []Exon, strand byte) {
	for i := 0; i+1 < len(exons); i++ {
		is, ie := exons[i].End, exons[i+1].Start // intron [is, ie)
		if strand == '+' {
			copy(seq[is:], "GT")
			copy(seq[ie-2:], "AG")
		} else {
			copy(seq[is:], "CT")
			copy(seq[ie-2:], "AC")
		}
	}
}

// writeCDS draws UTR lengths and a CDS (ATG, sense codons, a stop), writes
// it into seq along the transcript of exons gx (1-based) and returns its
// genomic span (1-based inclusive).
func writeCDS(rng *rand.Rand, seq []byte, gx []Exon, strand byte, tlen int) (int64, int64) {
	utr5 := between(rng, 0, min(150, tlen/5))
	utr3 := between(rng, 0, min(150, tlen/5))
	cdsLen := (tlen - utr5 - utr3) / 3 * 3
	cds := make([]byte, 0, cdsLen)
	cds = append(cds, "ATG"...)
	for len(cds) < cdsLen-3 {
		cds = append(cds, senseCodons[rng.IntN(len(senseCodons))]...)
	}
	cds = append(cds, stopCodons[rng.IntN(3)]...)
	tpos := 0
	var cdsLo, cdsHi int64 = -1, -1
	for _, e := range orderTx(gx, strand) {
		l := int(e.End - e.Start + 1)
		for k := max(utr5-tpos, 0); k < l && tpos+k < utr5+cdsLen; k++ {
			b := cds[tpos+k-utr5]
			gp := e.Start - 1 + int64(k) // 0-based
			if strand == '-' {
				gp = e.End - 1 - int64(k)
				b = complement[b]
			}
			seq[gp] = b
			if cdsLo < 0 || gp < cdsLo {
				cdsLo = gp
			}
			cdsHi = max(cdsHi, gp)
		}
		tpos += l
	}
	return cdsLo + 1, cdsHi + 1
}

// addIsoforms gives a coding gene a coding isoform with a shorter 5' UTR
// (same CDS, same frame) when its first exon has room, and a non-coding
// one retaining an intron when it has three exons or more.
func (g *Genome) addIsoforms(rng *rand.Rand, gene *Gene, main *Transcript) {
	gx := main.Exons
	nex := len(gx)
	first := orderTx(gx, gene.Strand)[0]
	var inFirst int64 // 5' UTR bases inside the first transcript exon
	if gene.Strand == '+' {
		inFirst = min(main.CDSStart, first.End+1) - first.Start
	} else {
		inFirst = first.End - max(main.CDSEnd, first.Start-1)
	}
	if inFirst > 10 && nex > 1 {
		trim := int64(between(rng, 1, int(inFirst-5)))
		ax := append([]Exon(nil), gx...)
		if gene.Strand == '+' {
			ax[0].Start += trim
		} else {
			ax[nex-1].End -= trim
		}
		alt := g.newTranscript(gene, ax)
		alt.Biotype, alt.CDSStart, alt.CDSEnd = "protein_coding", main.CDSStart, main.CDSEnd
		alt.ProteinID = "ENSP" + alt.ID[4:]
		gene.Transcripts = append(gene.Transcripts, alt)
	}
	if nex >= 3 {
		i := rng.IntN(nex - 1)
		rx := append([]Exon(nil), gx[:i]...)
		rx = append(rx, Exon{gx[i].Start, gx[i+1].End})
		rx = append(rx, gx[i+2:]...)
		ri := g.newTranscript(gene, rx)
		ri.Biotype = "retained_intron"
		gene.Transcripts = append(gene.Transcripts, ri)
	}
}

func (g *Genome) newTranscript(gene *Gene, exons []Exon) *Transcript {
	g.nextTx++
	g.nTx++
	n := len(gene.Transcripts) + 1
	t := &Transcript{
		ID: fmt.Sprintf("ENST%011d", g.nextTx), Name: fmt.Sprintf("%s-%d", gene.Name, 200+n),
		Gene: gene, Exons: exons,
	}
	for i := range exons {
		t.exonIDs = append(t.exonIDs, fmt.Sprintf("ENSE%011d", g.nextTx*100+i+1))
	}
	return t
}

// orderTx returns exons in transcript order.
func orderTx(ex []Exon, strand byte) []Exon {
	out := append([]Exon(nil), ex...)
	if strand == '-' {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// mergeSpans returns the union of transcript spans, sorted.
func mergeSpans(genes []*Gene) []Exon {
	var s []Exon
	for _, gn := range genes {
		for _, t := range gn.Transcripts {
			s = append(s, Exon{t.Exons[0].Start, t.Exons[len(t.Exons)-1].End})
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	var out []Exon
	for _, e := range s {
		if n := len(out); n > 0 && e.Start <= out[n-1].End+1 {
			out[n-1].End = max(out[n-1].End, e.End)
			continue
		}
		out = append(out, e)
	}
	return out
}
