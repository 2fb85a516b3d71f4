package results_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

var (
	synthOnce sync.Once
	synthRef  *model.Reference
	synthErr  error
)

// realAnnotator is the results adapter over the real engine on the local
// mode's synthetic reference, with opt, and an object store holding input.
func realAnnotator(t *testing.T, opt engine.Options, input []byte) (*memory.ObjectStore, *results.Annotator) {
	t.Helper()
	synthOnce.Do(func() {
		g, err := synth.New(synth.Small())
		if err != nil {
			synthErr = err
			return
		}
		var gff, fa bytes.Buffer
		if err := g.WriteGFF3(&gff); err != nil {
			synthErr = err
			return
		}
		if err := g.WriteFASTA(&fa); err != nil {
			synthErr = err
			return
		}
		synthRef, synthErr = engine.BuildReference(engine.Sources{Name: "synthetic", Genes: &gff, FASTA: &fa})
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	eng, err := engine.New(synthRef, opt)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := memory.NewObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objects.Put(context.Background(), "in", bytes.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	a, err := results.New(objects, results.Engines{eng}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return objects, a
}

const header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

// records is a VCF of n SNVs on the synthetic genome's first chromosome.
func records(n int) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for i := range n {
		fmt.Fprintf(&b, "chr1\t%d\t.\tA\tG\t.\t.\t.\n", 1000+i)
	}
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// manyAltsLine is a record at a coding position with n ALT alleles.
func manyAltsLine(pos, n int) string {
	alts := make([]string, n)
	for i := range alts {
		alt := "A"
		for k := i; ; k /= 4 {
			alt += string("ACGT"[k%4])
			if k < 4 {
				break
			}
		}
		alts[i] = alt
	}
	return fmt.Sprintf("chr1\t%d\t.\tA\t%s\t.\t.\t.\n", pos, strings.Join(alts, ","))
}

// A free user's small .vcf.gz that inflates far past 150 KB fails as it
// streams, naming the limit and the plan that lifts it; nothing is kept.
func TestDecompressionBombFailsAtTheFreeLimit(t *testing.T) {
	bomb := gz([]byte(header + strings.Repeat("chr1\t1000\t.\tA\tG\t.\t.\t.\n", 400_000))) // 9 MB of VCF
	if len(bomb) > 150<<10 {
		t.Fatalf("bomb is %d bytes compressed, want it under the free upload limit", len(bomb))
	}
	objects, a := realAnnotator(t, engine.Options{}, bomb)
	limits := domain.DefaultPolicy().InputLimits(domain.TierFree)
	_, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Limits: limits})
	want := limits.Exceeded(domain.LimitDecompressed).Error()
	if !errors.Is(err, ports.ErrBadInput) || !errors.Is(err, domain.ErrInputTooLarge) || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("bomb: %v, want a bad input ending %q", err, want)
	}
	if info, err := objects.Head(context.Background(), keys.VCF); err == nil && info.Size > 2<<20 {
		t.Fatalf("the failed run stored a %d byte result", info.Size)
	}
	// The same file within a premium plan's limits annotates.
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Limits: domain.DefaultPolicy().InputLimits(domain.TierPremium)}); err != nil {
		t.Fatalf("premium: %v", err)
	}
}

func TestRecordLimitCountsDataLinesOnly(t *testing.T) {
	limits := domain.DefaultPolicy().InputLimits(domain.TierFree)
	limits.Records = 10
	_, a := realAnnotator(t, engine.Options{}, records(10))
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Limits: limits}); err != nil {
		t.Fatalf("10 records with a limit of 10: %v", err)
	}
	_, a = realAnnotator(t, engine.Options{}, gz(records(11)))
	_, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Limits: limits})
	if !errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), "the file has more than 10 variant records; free accounts may annotate up to 10 records per job") {
		t.Fatalf("11 records: %v", err)
	}
}

func TestInputCompressedTwiceIsRefused(t *testing.T) {
	_, a := realAnnotator(t, engine.Options{}, gz(gz(records(10))))
	_, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Limits: domain.DefaultPolicy().InputLimits(domain.TierFree)})
	if !errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), "compressed twice") {
		t.Fatalf("gzip in gzip: %v", err)
	}
}

// A 140 KB line with 70,000 ALT alleles (13 minutes of an annotator's time
// once) is refused at once, naming its line; with the cap raised it is
// still refused in seconds, naming it, as more rows than the variant table
// can number on one line; and 20,000 alleles are annotated and indexed in
// seconds: the work grows with the line, not with its square.
func TestRecordWithSeventyThousandAllelesEndsInSeconds(t *testing.T) {
	vcf := []byte(header + "chr1\t999\t.\tA\tG\t.\t.\t.\n" + manyAltsLine(12676, 70_000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	premium := domain.DefaultPolicy().InputLimits(domain.TierPremium)
	_, a := realAnnotator(t, engine.Options{}, vcf)
	start := time.Now()
	_, err := a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys, Limits: premium})
	if !errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), "line 4: more than 1000 ALT alleles in one record (70000 listed)") {
		t.Fatalf("70,000 alleles: %v", err)
	}
	t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))
	_, a = realAnnotator(t, engine.Options{MaxAlts: 100_000}, vcf)
	start = time.Now()
	_, err = a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys, Limits: premium})
	if !errors.Is(err, ports.ErrBadInput) || !errors.Is(err, vartable.ErrLineTooLarge) || !strings.Contains(err.Error(), "chr1:12676") {
		t.Fatalf("70,000 alleles with the cap raised (after %s): %v", time.Since(start), err)
	}
	t.Logf("with the cap raised: refused by the variant table in %s", time.Since(start).Round(time.Millisecond))
	vcf = []byte(header + "chr1\t999\t.\tA\tG\t.\t.\t.\n" + manyAltsLine(12676, 20_000))
	_, a = realAnnotator(t, engine.Options{MaxAlts: 100_000}, vcf)
	start = time.Now()
	out, err := a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys, Limits: premium})
	if err != nil {
		t.Fatalf("20,000 alleles with the cap raised (after %s): %v", time.Since(start), err)
	}
	t.Logf("20,000 alleles: annotated and indexed in %s", time.Since(start).Round(time.Millisecond))
	if out.Summary.Variants != 20_001 {
		t.Fatalf("summary %+v", out.Summary)
	}
}

// A run cancelled in the middle of records with many alleles each (a
// shutdown, a lost lease) returns within a second.
func TestCancelledRunStopsWithinASecond(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(header)
	for i := range 400 {
		b.WriteString(manyAltsLine(1000+i*50, 1000))
	}
	_, a := realAnnotator(t, engine.Options{Workers: 2}, b.Bytes())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Annotate(ctx, ports.AnnotationRequest{Input: "in", Keys: keys, Limits: domain.DefaultPolicy().InputLimits(domain.TierPremium)})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Logf("run ended with %v (it may have finished before the cancel)", err)
		}
		t.Logf("returned %s after the cancel", time.Since(start).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatal("the run went on for more than a second after its context was cancelled")
	}
}
