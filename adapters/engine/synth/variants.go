package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// VariantStats counts what WriteVariants wrote, for tests and logs.
type VariantStats struct {
	Records      int // records in the variants VCF
	Alleles      int // ALT alleles in it
	Inside       int // records whose POS lies inside a transcript span
	SNV, MNV     int
	Ins, Del     int
	Multi        int // records with two ALT alleles
	KnownAlleles int // input alleles that have a known-VCF counterpart
	KnownRecords int // records in the known VCF (including decoys)
}

// VariantOptions selects the optional outputs of WriteVariants.
type VariantOptions struct {
	// Known receives the known-variants VCF (rs IDs, INFO AF). About
	// Config.KnownFrac of input alleles appear in it, some written in a
	// different but equivalent representation (extra left padding, or a
	// longer REF sharing a suffix) so that matching must normalise, and
	// some positions carry a decoy allele that must not match.
	Known io.Writer
	// Truth receives one tab-separated line per input ALT allele: chrom,
	// pos, ref, alt, expected known ID ("." if none), expected AF ("." if
	// none) — the answer key for known-variant matching.
	Truth io.Writer
}

var delLens = []int{1, 1, 1, 2, 3, 4, 6}
var insLens = []int{1, 1, 2, 3, 5}

// WriteVariants streams Config.Variants sorted records to vcf (and the
// optional outputs), choosing positions by sequential sampling so that
// memory stays constant whatever the count.
func (g *Genome) WriteVariants(vcf io.Writer, opt VariantOptions) (VariantStats, error) {
	w := &variantWriter{g: g, rng: rand.New(rand.NewPCG(g.cfg.Seed, 0x7a41c0de)), rsNext: 1_000_001}
	w.out = bufio.NewWriterSize(vcf, 1<<20)
	if opt.Known != nil {
		w.kn = bufio.NewWriterSize(opt.Known, 1<<20)
	}
	if opt.Truth != nil {
		w.tr = bufio.NewWriterSize(opt.Truth, 256<<10)
	}
	g.writeHeader(w.out, false)
	if w.kn != nil {
		g.writeHeader(w.kn, true)
	}
	for ci, name := range g.names {
		if err := w.chrom(ci, name); err != nil {
			return w.st, err
		}
	}
	for _, bw := range []*bufio.Writer{w.out, w.kn, w.tr} {
		if bw != nil {
			if err := bw.Flush(); err != nil {
				return w.st, err
			}
		}
	}
	return w.st, nil
}

// variantWriter is the state of one WriteVariants call. Its random draws
// happen in a fixed order, so a seed always gives the same files.
type variantWriter struct {
	g           *Genome
	rng         *rand.Rand
	out, kn, tr *bufio.Writer // kn and tr may be nil
	st          VariantStats
	rsNext      int
	line        []byte
}

// chrom writes the records of chromosome ci: its share of the variants,
// Config.CodingFrac of them inside transcript spans.
func (w *variantWriter) chrom(ci int, name string) error {
	s := w.g.seqs[ci]
	lo, hi := int64(2), int64(len(s)-20) // candidate POS range, 1-based inclusive
	spans := w.g.spans[ci]
	q := w.g.newQuota(ci, lo, hi)
	si := 0
	for p := lo; p <= hi && q.needIn+q.needOut > 0; p++ {
		for si < len(spans) && spans[si].End < p {
			si++
		}
		inside := si < len(spans) && spans[si].Start <= p
		if !q.pick(w.rng, inside) {
			continue
		}
		if inside {
			w.st.Inside++
		}
		if err := w.record(name, s, p); err != nil {
			return err
		}
	}
	return nil
}

// quota is what is left to choose on one chromosome, inside and outside
// transcript spans: need records among rem candidate positions.
type quota struct {
	needIn, needOut int64
	remIn, remOut   int64
}

func (g *Genome) newQuota(ci int, lo, hi int64) quota {
	cfg := g.cfg
	per := cfg.Variants / cfg.Chroms
	if ci < cfg.Variants%cfg.Chroms {
		per++
	}
	var tIn int64
	for _, sp := range g.spans[ci] {
		if a, b := max(sp.Start, lo), min(sp.End, hi); a <= b {
			tIn += b - a + 1
		}
	}
	tOut := hi - lo + 1 - tIn
	needIn := min(int64(math.Round(float64(per)*cfg.CodingFrac)), tIn)
	needOut := int64(per) - needIn
	if needOut > tOut {
		needOut = tOut
		needIn = int64(per) - needOut
	}
	return quota{needIn: needIn, needOut: needOut, remIn: tIn, remOut: tOut}
}

// pick decides on the next candidate by sequential sampling: it is chosen
// with probability needed/remaining on its side, which yields exactly the
// quota, uniformly spread.
func (q *quota) pick(rng *rand.Rand, inside bool) bool {
	need, rem := &q.needOut, &q.remOut
	if inside {
		need, rem = &q.needIn, &q.remIn
	}
	pick := *need > 0 && rng.Float64()*float64(*rem) < float64(*need)
	*rem--
	if pick {
		*need--
	}
	return pick
}

// record draws and writes the record at 1-based position p, with its
// known-variant and truth lines.
func (w *variantWriter) record(name string, s []byte, p int64) error {
	ref, alts := w.g.makeVariant(w.rng, s, p, &w.st)
	w.st.Records++
	w.st.Alleles += len(alts)
	line := append(w.line[:0], name...)
	line = append(line, '\t')
	line = appendInt(line, p)
	line = append(line, "\t.\t"...)
	line = append(line, ref...)
	line = append(line, '\t')
	for i, a := range alts {
		if i > 0 {
			line = append(line, ',')
		}
		line = append(line, a...)
	}
	line = append(line, "\t50\tPASS\t.\n"...)
	w.line = line
	if _, err := w.out.Write(line); err != nil {
		return err
	}
	if w.kn == nil && w.tr == nil {
		return nil
	}
	ids, afs := w.known(name, s, p, ref, alts)
	if w.kn != nil && w.rng.Float64() < 0.1 {
		// decoy: same position, an allele the input does not have
		d := otherBase(w.rng, s[p-1], alts)
		writeKnown(w.kn, name, p, "rs"+strconv.Itoa(w.rsNext), string(s[p-1]), []string{d}, []string{"0.25"})
		w.rsNext++
		w.st.KnownRecords++
	}
	if w.tr != nil {
		for i, a := range alts {
			fmt.Fprintf(w.tr, "%s\t%d\t%s\t%s\t%s\t%s\n", name, p, ref, a, ids[i], afs[i])
		}
	}
	return nil
}

// known decides whether the record is known (Config.KnownFrac) and, if so,
// gives it an rs ID and frequencies and writes it to the known VCF, at
// times in a different but equivalent representation. It returns the IDs
// and frequencies per ALT ("." when unknown).
func (w *variantWriter) known(name string, s []byte, p int64, ref string, alts []string) (ids, afs []string) {
	ids = make([]string, len(alts))
	afs = make([]string, len(alts))
	if w.rng.Float64() >= w.g.cfg.KnownFrac {
		for i := range alts {
			ids[i], afs[i] = ".", "."
		}
		return ids, afs
	}
	// one rs ID per record, as dbSNP assigns them
	id := "rs" + strconv.Itoa(w.rsNext)
	w.rsNext++
	for i := range alts {
		ids[i] = id
		afs[i] = strconv.FormatFloat(math.Pow(10, -4*w.rng.Float64())/2, 'g', 4, 64)
	}
	w.st.KnownAlleles += len(alts)
	if w.kn == nil {
		return ids, afs
	}
	kp, kref, kalts := p, ref, alts
	switch r := w.rng.Float64(); {
	case len(alts) == 1 && len(ref) != len(alts[0]) && p >= 3 && r < 0.2:
		// one more base of left padding: same variant
		pad := string(s[p-2])
		kp, kref, kalts = p-1, pad+ref, []string{pad + alts[0]}
	case len(alts) == 1 && len(ref) == 1 && len(alts[0]) == 1 && r < 0.1:
		// a longer REF sharing its last base: same SNV
		next := string(s[p])
		kref, kalts = ref+next, []string{alts[0] + next}
	}
	writeKnown(w.kn, name, kp, ids[0], kref, kalts, afs)
	w.st.KnownRecords++
	return ids, afs
}

// otherBase picks a base differing from ref and from every single-base alt.
func otherBase(rng *rand.Rand, ref byte, alts []string) string {
	for {
		b := bases[rng.IntN(4)]
		if b == ref {
			continue
		}
		clash := false
		for _, a := range alts {
			if len(a) == 1 && a[0] == b {
				clash = true
			}
		}
		if !clash {
			return string(b)
		}
	}
}

func writeKnown(w *bufio.Writer, chrom string, pos int64, id string, ref string, alts, afs []string) {
	w.WriteString(chrom)
	w.WriteByte('\t')
	w.WriteString(strconv.FormatInt(pos, 10))
	w.WriteByte('\t')
	w.WriteString(id)
	w.WriteByte('\t')
	w.WriteString(ref)
	w.WriteByte('\t')
	for i, a := range alts {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(a)
	}
	w.WriteString("\t.\t.\tAF=")
	for i, a := range afs {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(a)
	}
	w.WriteByte('\n')
}

// makeVariant draws the alleles of a record at 1-based position p.
func (g *Genome) makeVariant(rng *rand.Rand, s []byte, p int64, st *VariantStats) (string, []string) {
	cfg := g.cfg
	i := p - 1
	ref1 := s[i]
	switch r := rng.Float64(); {
	case r < cfg.IndelFrac/2:
		l := int64(delLens[rng.IntN(len(delLens))])
		st.Del++
		return string(s[i : i+l+1]), []string{string(ref1)}
	case r < cfg.IndelFrac:
		l := insLens[rng.IntN(len(insLens))]
		alt := []byte{ref1}
		for k := 0; k < l; k++ {
			alt = append(alt, bases[rng.IntN(4)])
		}
		st.Ins++
		return string(ref1), []string{string(alt)}
	case r < cfg.IndelFrac+cfg.MNVFrac:
		l := int64(2 + rng.IntN(2))
		ref := s[i : i+l]
		alt := make([]byte, l)
		for k := range alt {
			alt[k] = otherBase(rng, ref[k], nil)[0]
		}
		st.MNV++
		return string(ref), []string{string(alt)}
	}
	st.SNV++
	a1 := otherBase(rng, ref1, nil)
	if rng.Float64() < cfg.MultiFrac {
		st.Multi++
		return string(ref1), []string{a1, otherBase(rng, ref1, []string{a1})}
	}
	return string(ref1), []string{a1}
}

func (g *Genome) writeHeader(w *bufio.Writer, known bool) {
	w.WriteString("##fileformat=VCFv4.2\n")
	fmt.Fprintf(w, "##source=gas-synth seed=%d\n", g.cfg.Seed)
	for i, n := range g.names {
		fmt.Fprintf(w, "##contig=<ID=%s,length=%d>\n", n, len(g.seqs[i]))
	}
	if known {
		w.WriteString("##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n")
	}
	w.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
}

// WriteSampleVCF writes a small realistic VCF against this genome, with a
// genotype column, for the upload page's examples: at least minBytes long
// and no more than one record longer (so minBytes = 150 KiB + 1 gives a
// file just over the free tier's limit).
func (g *Genome) WriteSampleVCF(w io.Writer, minBytes int) error {
	rng := rand.New(rand.NewPCG(g.cfg.Seed, uint64(minBytes)))
	var b []byte
	b = append(b, "##fileformat=VCFv4.2\n##source=gas-synth sample\n"...)
	total := 0
	for i, n := range g.names {
		b = fmt.Appendf(b, "##contig=<ID=%s,length=%d>\n", n, len(g.seqs[i]))
		total += len(g.seqs[i]) - 40
	}
	b = append(b, "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Read depth\">\n"...)
	b = append(b, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"...)
	b = append(b, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE1\n"...)
	written := 0
	records := max(minBytes/30, 10)
	step := max(int64(total/records), 1)
	gts := []string{"0/1", "0/1", "1/1", "0|1"}
	for ci, name := range g.names {
		s := g.seqs[ci]
		for p := int64(20); p < int64(len(s))-20; p += 1 + rng.Int64N(2*step) {
			if written+len(b) >= minBytes {
				break
			}
			var st VariantStats
			ref, alts := g.makeVariant(rng, s, p, &st)
			b = append(b, name...)
			b = fmt.Appendf(b, "\t%d\t.\t%s\t%s\t%d\tPASS\tDP=%d\tGT\t%s\n", p, ref, alts[0], 20+rng.IntN(80), 10+rng.IntN(90), gts[rng.IntN(len(gts))])
			if len(b) > 64<<10 {
				n, err := w.Write(b)
				written += n
				if err != nil {
					return err
				}
				b = b[:0]
			}
		}
	}
	if written+len(b) < minBytes {
		return fmt.Errorf("synth: genome too small for a %d-byte sample", minBytes)
	}
	_, err := w.Write(b)
	return err
}
