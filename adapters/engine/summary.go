package engine

import (
	"fmt"
	"math/bits"
	"sort"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/domain"
)

// topGenes is how many genes the summary lists by HIGH-impact count.
const topGenes = 10

type skipNote struct {
	line int64
	msg  string
}

// stats accumulates one worker's share of the summary; merged at the end.
type stats struct {
	records, variants, skipped, known, refMismatches int64
	unknownChrom, pastEnd                            int64
	transitions, transversions                       int64
	skippedLines                                     []skipNote
	rows                                             int64
	// per row, and (…Any) per allele having at least one such row
	byTerm, byTermAny     [32]int64
	byImpact, byImpactAny [4]int64
	byWarn, byWarnAny     [16]int64
	byClass               [nClasses]int64
	chroms                map[string]int64
	lastChrom             string
	lastCount             int64
	highGenes             map[int32]int64
}

// variant classes, indexes into stats.byClass
const (
	clSNV = iota
	clMNV
	clIns
	clDel
	clIndel
	clOther
	nClasses
)

var classNames = [nClasses]string{"SNV", "MNV", "insertion", "deletion", "indel", "other"}

func newStats() *stats {
	return &stats{chroms: map[string]int64{}, highGenes: map[int32]int64{}}
}

func (s *stats) reset() {
	*s = stats{chroms: s.chroms, highGenes: s.highGenes, skippedLines: s.skippedLines[:0]}
	clear(s.chroms)
	clear(s.highGenes)
}

// byChrom counts a record on chromosome c; runs of one chromosome (sorted
// input) touch the map only when the name changes.
func (s *stats) byChrom(c []byte) {
	if string(c) != s.lastChrom {
		s.flushChrom()
		s.lastChrom = string(c)
	}
	s.lastCount++
}

func (s *stats) flushChrom() {
	if s.lastCount > 0 {
		s.chroms[s.lastChrom] += s.lastCount
		s.lastCount = 0
	}
}

func (s *stats) class(c int) { s.byClass[c]++ }

// classify counts the variant class and Ts/Tv of one allele.
func (s *stats) classify(ref, alt []byte) {
	if len(ref) == 1 && len(alt) == 1 && ref[0] != alt[0] { // most alleles: an SNV
		s.byClass[clSNV]++
		if isTransition(ref[0], alt[0]) {
			s.transitions++
		} else {
			s.transversions++
		}
		return
	}
	r, a := ref, alt
	for len(r) > 0 && len(a) > 0 && r[len(r)-1] == a[len(a)-1] {
		r, a = r[:len(r)-1], a[:len(a)-1]
	}
	for len(r) > 0 && len(a) > 0 && r[0] == a[0] {
		r, a = r[1:], a[1:]
	}
	switch {
	case len(r) == 1 && len(a) == 1:
		s.byClass[clSNV]++
		if isTransition(r[0], a[0]) {
			s.transitions++
		} else {
			s.transversions++
		}
	case len(r) == len(a) && len(r) > 1:
		s.byClass[clMNV]++
	case len(r) == 0 && len(a) > 0:
		s.byClass[clIns]++
	case len(a) == 0 && len(r) > 0:
		s.byClass[clDel]++
	case len(r) == 0:
		s.byClass[clOther]++
	default:
		s.byClass[clIndel]++
	}
}

// baseKind is 1 for purines (A, G), 2 for pyrimidines (C, T), 0 otherwise.
var baseKind = [256]uint8{'A': 1, 'G': 1, 'C': 2, 'T': 2}

func isTransition(a, b byte) bool {
	k := baseKind[a]
	return k != 0 && k == baseKind[b]
}

// effects counts one allele's rows (its written entries) by term, impact
// and warning, once per row and once per allele having such a row (the
// counts of the "most severe only" view), and the genes hit with HIGH
// impact.
func (s *stats) effects(ref *model.Reference, effs []csq.Effect) {
	var all csq.Term
	var impacts uint8
	var warns csq.Warning
	worst := csq.Modifier
	for i := range effs {
		t, w, im := effs[i].Terms, effs[i].Warn&csq.Problems, csq.ImpactOf(effs[i].Terms)
		all |= t
		warns |= w
		impacts |= 1 << im
		worst = max(worst, im)
		s.byImpact[im]++
		for x := uint32(t); x != 0; x &= x - 1 {
			s.byTerm[bits.TrailingZeros32(x)]++
		}
		for x := uint32(w); x != 0; x &= x - 1 {
			s.byWarn[bits.TrailingZeros32(x)]++
		}
	}
	s.rows += int64(len(effs))
	for x := uint32(all); x != 0; x &= x - 1 {
		s.byTermAny[bits.TrailingZeros32(x)]++
	}
	for x := uint32(impacts); x != 0; x &= x - 1 {
		s.byImpactAny[bits.TrailingZeros32(x)]++
	}
	for x := uint32(warns); x != 0; x &= x - 1 {
		s.byWarnAny[bits.TrailingZeros32(x)]++
	}
	if worst == csq.High {
		var seen [8]int32
		n := 0
	next:
		for i := range effs {
			if csq.ImpactOf(effs[i].Terms) != csq.High || effs[i].Gene < 0 {
				continue
			}
			g := effs[i].Gene
			for k := 0; k < n; k++ {
				if seen[k] == g {
					continue next
				}
			}
			if n < len(seen) {
				seen[n] = g
				n++
			}
			s.highGenes[g]++
		}
	}
}

func (s *stats) merge(o *stats) {
	s.records += o.records
	s.variants += o.variants
	s.skipped += o.skipped
	s.known += o.known
	s.refMismatches += o.refMismatches
	s.unknownChrom += o.unknownChrom
	s.pastEnd += o.pastEnd
	s.rows += o.rows
	s.transitions += o.transitions
	s.transversions += o.transversions
	for _, n := range o.skippedLines {
		if len(s.skippedLines) < maxSkipped {
			s.skippedLines = append(s.skippedLines, n)
		}
	}
	addAll(s.byTerm[:], o.byTerm[:])
	addAll(s.byTermAny[:], o.byTermAny[:])
	addAll(s.byImpact[:], o.byImpact[:])
	addAll(s.byImpactAny[:], o.byImpactAny[:])
	addAll(s.byWarn[:], o.byWarn[:])
	addAll(s.byWarnAny[:], o.byWarnAny[:])
	for k, v := range o.byClass {
		s.byClass[k] += v
	}
	o.flushChrom()
	for k, v := range o.chroms {
		s.chroms[k] += v
	}
	for k, v := range o.highGenes {
		s.highGenes[k] += v
	}
}

func addAll(dst, src []int64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

// named turns per-code counts into a map by name, leaving out zeros.
func named(counts []int64, name func(int) string) map[string]int64 {
	m := map[string]int64{}
	for i, n := range counts {
		if n > 0 {
			m[name(i)] = n
		}
	}
	return m
}

// fill writes the totals into a domain.Summary, every field set.
func (s *stats) fill(sum *domain.Summary, ref *model.Reference) {
	sum.Records = s.records
	sum.Variants = s.variants
	sum.Skipped = s.skipped
	sum.SkippedLines = sum.SkippedLines[:0]
	for _, n := range s.skippedLines {
		sum.SkippedLines = append(sum.SkippedLines, fmt.Sprintf("line %d: %s", n.line, n.msg))
	}
	sum.Known = s.known
	sum.RefMismatches = s.refMismatches
	sum.UnknownChromosome = s.unknownChrom
	sum.PastChromosomeEnd = s.pastEnd
	sum.Transitions = s.transitions
	sum.Transversions = s.transversions
	term := func(i int) string { return csq.Term(1 << i).Name() }
	impact := func(i int) string { return csq.Impact(i).String() }
	warning := func(i int) string { return csq.WarningNames()[i] }
	sum.Unit, sum.Rows = domain.RowUnit, s.rows
	sum.ByConsequence, sum.ByImpact, sum.ByWarning = named(s.byTerm[:], term), named(s.byImpact[:], impact), named(s.byWarn[:], warning)
	sum.MostSevere = domain.Tally{ByConsequence: named(s.byTermAny[:], term), ByImpact: named(s.byImpactAny[:], impact),
		ByWarning: named(s.byWarnAny[:], warning)}
	sum.ByClass = map[string]int64{}
	for k, v := range s.byClass {
		if v > 0 {
			sum.ByClass[classNames[k]] = v
		}
	}
	s.flushChrom()
	sum.ByChromosome = map[string]int64{}
	for k, v := range s.chroms {
		sum.ByChromosome[k] = v
	}
	genes := make([]domain.GeneCount, 0, len(s.highGenes))
	for g, n := range s.highGenes {
		genes = append(genes, domain.GeneCount{Gene: ref.Genes[g].Name, Count: n})
	}
	sort.Slice(genes, func(i, j int) bool {
		if genes[i].Count != genes[j].Count {
			return genes[i].Count > genes[j].Count
		}
		return genes[i].Gene < genes[j].Gene
	})
	if len(genes) > topGenes {
		genes = genes[:topGenes]
	}
	sum.TopHighImpactGenes = genes
}
