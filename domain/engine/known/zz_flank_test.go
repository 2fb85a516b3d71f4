package known

import (
	"sort"

	"github.com/gasproject/gas/domain/engine/synth"
)

type segRef map[string][]seg
type seg struct {
	start int64
	seq   string
}

func (r segRef) Seq(chrom string, s, e int64) []byte {
	for _, g := range r[chrom] {
		if s >= g.start && e < g.start+int64(len(g.seq)) && s <= e {
			return []byte(g.seq[s-g.start : e-g.start+1])
		}
	}
	return nil
}
func exonFlanks(g *synth.Genome) segRef {
	r := segRef{}
	for _, gene := range g.Genes() {
		seq := g.Sequence(gene.Chrom)
		for _, tx := range gene.Transcripts {
			for _, e := range tx.Exons {
				s, end := max(1, e.Start-64), min(int64(len(seq)), e.End+64)
				r[gene.Chrom] = append(r[gene.Chrom], seg{s, string(seq[s-1 : end])})
			}
		}
	}
	for chrom, segs := range r {
		sort.Slice(segs, func(i, j int) bool { return segs[i].start < segs[j].start })
		var merged []seg
		for _, s := range segs {
			if n := len(merged); n > 0 && s.start <= merged[n-1].start+int64(len(merged[n-1].seq)) {
				last := &merged[n-1]
				if end := s.start + int64(len(s.seq)); end > last.start+int64(len(last.seq)) {
					last.seq += s.seq[last.start+int64(len(last.seq))-s.start:]
				}
				continue
			}
			merged = append(merged, s)
		}
		r[chrom] = merged
	}
	return r
}
