package vartable

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestGenesFirstSeenInLaterRuns: a gene first met after runs were written
// (here every run brings genes that sort before the earlier ones) is
// counted, filtered and sorted as if the index were one run, and the
// dictionary names only the genes rows have.
func TestGenesFirstSeenInLaterRuns(t *testing.T) {
	ctx := context.Background()
	vcf, lines, entries, model := synth(3000, 4)
	genes := []string{"G00005", "G00004", "G00003", "G00002", "G00001"} // by first appearance
	vocab := &Vocabulary{Terms: testTerms, Warnings: testWarnings, Genes: append(slices.Clone(testGenes), "UNUSED1", "UNUSED2")}
	for i := range entries {
		g := genes[i*len(genes)/len(entries)]
		entries[i].Gene, model[i].gene = int32(slices.Index(vocab.Genes, g)), g
		if i%7 == 0 {
			entries[i].Gene, model[i].gene = -1, ""
		}
	}
	for _, chunk := range []int{0, 64} {
		var out bytes.Buffer
		buildAll(t, &out, BuildOptions{ChunkRows: chunk}, vocab, int64(bytes.Index(vcf, []byte("\nchr"))+1), lines, entries)
		ix, _ := open(t, out.Bytes())
		if chunk > 0 && len(ix.dict.Runs) < 10 {
			t.Fatalf("chunks of %d rows: %d runs", chunk, len(ix.dict.Runs))
		}
		if want := append([]string{""}, genes...); !slices.Equal(ix.dict.Genes, want) {
			t.Fatalf("dictionary genes %v, want %v", ix.dict.Genes, want)
		}
		for _, g := range append(genes, "") {
			for _, desc := range []bool{false, true} {
				q := Query{Filter: Filter{Gene: g}, Sort: SortGene, Desc: desc, Limit: 5000}
				page, err := ix.Query(ctx, q)
				total, want := expected(model, q)
				if err != nil || page.Total != total || len(page.Variants) != len(want) {
					t.Fatalf("chunk %d gene %q: %d rows, want %d (%v)", chunk, g, page.Total, total, err)
				}
				for i, v := range page.Variants {
					if v.Ordinal != int64(want[i]) || v.Gene != model[want[i]].gene {
						t.Fatalf("chunk %d %+v row %d: %d %q, want %d %q", chunk, q, i, v.Ordinal, v.Gene, want[i], model[want[i]].gene)
					}
				}
			}
		}
	}
}

// BenchmarkBuildSmallJobLargeReference: 1,000 lines against a reference
// of 60,000 genes (an Ensembl-sized vocabulary); index-B reports the
// index's size, most of it the dictionary.
func BenchmarkBuildSmallJobLargeReference(b *testing.B) {
	_, lines, entries, _ := synth(1000, 5)
	vocab := &Vocabulary{Terms: testTerms, Warnings: testWarnings, Genes: make([]string, 60_000)}
	for i := range vocab.Genes {
		vocab.Genes[i] = fmt.Sprintf("GENE%05d", (i*7919)%60_000)
	}
	for i := range entries {
		entries[i].Gene = int32(i * 37 % 60_000)
	}
	var out countingDiscard
	for b.Loop() {
		out = 0
		buildAll(b, &out, BuildOptions{}, vocab, 100, lines, entries)
	}
	b.ReportMetric(float64(out), "index-B")
}

type countingDiscard int64

func (c *countingDiscard) Write(p []byte) (int, error) {
	*c += countingDiscard(len(p))
	return len(p), nil
}
