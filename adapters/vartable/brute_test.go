package vartable

import (
	"context"
	"testing"
)

// checkQueries runs every test filter, sort, direction and depth on the
// index b against the brute force over model.
func checkQueries(t *testing.T, b []byte, model []modelRow, chunk int) {
	t.Helper()
	ctx := context.Background()
	ix, _ := open(t, b)
	if ix.Len() != int64(len(model)) || ix.Alleles() != int64(model[len(model)-1].alleleID+1) {
		t.Fatalf("Len %d, Alleles %d; model %d rows", ix.Len(), ix.Alleles(), len(model))
	}
	checked := 0
	for _, f := range testFilters {
		for _, s := range []SortKey{SortPosition, SortImpact, SortConsequence, SortGene, SortKnown} {
			for _, desc := range []bool{false, true} {
				for _, off := range []int64{0, 7, 50, 400, 5000} {
					q := Query{Filter: f, Sort: s, Desc: desc, Offset: off, Limit: 50}
					page, err := ix.Query(ctx, q)
					if err != nil {
						t.Fatalf("%+v: %v", q, err)
					}
					total, want := expected(model, q)
					if page.Total != total || len(page.Variants) != len(want) {
						t.Fatalf("chunk %d %+v: total %d, %d rows; want %d, %d", chunk, q, page.Total, len(page.Variants), total, len(want))
					}
					for i, v := range page.Variants {
						m := model[want[i]]
						if v.Ordinal != int64(want[i]) || v.Chrom != m.chrom || v.Pos != m.pos || v.Allele != m.allele || v.Entry != m.ann ||
							v.Impact != m.impact || v.Gene != m.gene || v.Known != m.known || v.First != m.first ||
							v.Canonical != (m.tags&TagCanonical != 0) || v.HasAF != (m.af == m.af) || (v.HasAF && float32(v.AF) != m.af) {
							t.Fatalf("%+v row %d: got %+v, want %+v (ordinal %d)", q, i, v, m, want[i])
						}
					}
					checked++
				}
			}
		}
	}
	if checked != len(testFilters)*5*2*5 {
		t.Fatalf("checked %d queries", checked)
	}
}
