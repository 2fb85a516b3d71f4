package known

import (
	"path/filepath"
	"testing"
)

func BenchmarkZZMatch(b *testing.B) {
	g, dir, qs, _ := synthSet(b, 200000)
	fl := exonFlanks(g)
	for name, ref := range map[string]Reference{"whole": genomeRef(g), "flanks": fl} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				m, _ := Open(filepath.Join(dir, "known.vcf.gz"), Options{Reference: ref})
				for _, q := range qs {
					m.Match(q.chrom, q.pos, q.ref, q.alt)
				}
				m.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
		})
	}
}
