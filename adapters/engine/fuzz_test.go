package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gasproject/gas/adapters/engine/gff"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/ports"
)

var (
	fuzzOnce sync.Once
	fuzzRef  *model.Reference
)

// FuzzVCF: any input either annotates or fails with an input error (never a
// panic, never another kind of error); output lines are whole records.
func FuzzVCF(f *testing.F) {
	f.Add([]byte(tinyVCFHeader + "chr1\t1000\t.\tA\tG,AT,<DEL>,*\t.\t.\t.\n"))
	f.Add([]byte("##fileformat=VCFv4.4\r\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\r\nchr2\t5\t.\tACGT\tA\t.\t.\tANN=x;DP=1\r\n"))
	f.Add([]byte(tinyVCFHeader + "1\t0\t.\tN\tC\t.\t.\t.\nMT\t99999999\t.\tA\tC\t.\t.\t.\n"))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOnce.Do(func() {
			g, err := synth.New(synth.Small())
			if err != nil {
				t.Fatal(err)
			}
			var gb, fb bytes.Buffer
			g.WriteGFF3(&gb)
			g.WriteFASTA(&fb)
			fuzzRef, err = BuildReference(Sources{Name: "fuzz", Genes: &gb, FASTA: &fb})
			if err != nil {
				t.Fatal(err)
			}
		})
		for _, policy := range []OnError{Fail, Skip} {
			e, _ := New(fuzzRef, Options{MaxLine: 1 << 12, MaxAllele: 64, OnError: policy, MaxInflated: 1 << 20})
			var out bytes.Buffer
			sum, err := e.Annotate(context.Background(), bytes.NewReader(data), &out)
			if err != nil {
				if !errors.Is(err, ports.ErrBadInput) {
					t.Fatalf("non-input error: %v", err)
				}
				continue
			}
			body := 0
			for _, l := range strings.Split(out.String(), "\n") {
				if l != "" && l[0] != '#' {
					body++
				}
			}
			if int64(body) != sum.Records {
				t.Fatalf("%d output records, summary says %d", body, sum.Records)
			}
		}
	})
}

// TestEnsemblChr21Regions annotates the real chr21 variants with gene
// models only (no FASTA ships): every record is annotated, regions are
// right, and coding predictions say the sequence is unavailable.
func TestEnsemblChr21Regions(t *testing.T) {
	dir := "../../../shared/testdata/ensembl-chr21/"
	gz, err := os.Open(dir + "genes.gff3.gz")
	if err != nil {
		t.Skipf("skipping: %v (shared test data sits beside the checkout)", err)
	}
	defer gz.Close()
	zr, _ := gzip.NewReader(gz)
	b := model.NewBuilder()
	if err := gff.ReadGFF3(zr, b, gff.Options{}); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Build("GRCh38-chr21-genes-only")
	if err != nil {
		t.Fatal(err)
	}
	vcf, err := os.ReadFile(dir + "variants.vcf")
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(ref, Options{})
	var out bytes.Buffer
	sum, err := e.Annotate(context.Background(), bytes.NewReader(vcf), &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 132 || sum.ByChromosome["21"] == 0 {
		t.Fatalf("summary %+v", sum)
	}
	for _, want := range []string{"intron_variant", "upstream_gene_variant", "downstream_gene_variant", "coding_sequence_variant",
		"5_prime_UTR_variant", "3_prime_UTR_variant", "non_coding_transcript_exon_variant", "splice_region_variant"} {
		if sum.ByConsequence[want] == 0 {
			t.Errorf("no %s among chr21 variants: %v", want, sum.ByConsequence)
		}
	}
	lines := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		lines++
		if !strings.Contains(l, "ANN=") {
			t.Fatalf("record without ANN: %s", l)
		}
		f := strings.Split(l, "\t")
		if len(f) != 10 || f[8] != "GT" {
			t.Fatalf("sample columns changed: %s", l)
		}
	}
	if !strings.Contains(out.String(), "WARNING_SEQUENCE_NOT_AVAILABLE") {
		t.Error("coding predictions without sequence are not flagged")
	}
	if lines != 132 {
		t.Fatalf("%d records out", lines)
	}
	_ = io.Discard
}
