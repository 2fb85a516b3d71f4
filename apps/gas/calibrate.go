package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/apps/internal/scalesim"
)

// calibrationSizes are the two variant counts timed: the difference of
// their times is the per-variant cost, the rest the per-job overhead.
var calibrationSizes = [2]int{2_000, 200_000}

// calibrate times the real engine on the synthetic reference (the local
// mode default genome with a larger variant set) and returns the
// simulator's per-variant and per-job annotation costs. Each size runs
// repeat times and the fastest run counts, as benchmarks do.
func calibrate(ctx context.Context, workers, repeat int) (scalesim.Calibration, error) {
	var best [2]time.Duration
	for i, n := range calibrationSizes {
		eng, vcf, err := calibrationInput(n, workers)
		if err != nil {
			return scalesim.Calibration{}, err
		}
		for range max(1, repeat) {
			start := time.Now()
			if _, err := eng.Annotate(ctx, bytes.NewReader(vcf), io.Discard); err != nil {
				return scalesim.Calibration{}, fmt.Errorf("calibration run of %d variants: %w", n, err)
			}
			if d := time.Since(start); best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	perVariant := (best[1] - best[0]) / time.Duration(calibrationSizes[1]-calibrationSizes[0])
	perJob := max(0, best[0]-perVariant*time.Duration(calibrationSizes[0]))
	return scalesim.Calibration{PerVariant: perVariant, PerJob: perJob, Jitter: scalesim.DefaultCalibration.Jitter}, nil
}

// calibrationInput is an engine over the synthetic genome and a VCF of n
// of its variants.
func calibrationInput(n, workers int) (*engine.Engine, []byte, error) {
	cfg := synth.Small()
	cfg.Variants = n
	g, err := synth.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	var gff, fa, vcf bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		return nil, nil, err
	}
	if err := g.WriteFASTA(&fa); err != nil {
		return nil, nil, err
	}
	if _, err := g.WriteVariants(&vcf, synth.VariantOptions{}); err != nil {
		return nil, nil, err
	}
	ref, err := engine.BuildReference(engine.Sources{Name: "calibration", Genes: &gff, Format: engine.GFF3, FASTA: &fa})
	if err != nil {
		return nil, nil, err
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	eng, err := engine.New(ref, engine.Options{Workers: workers})
	return eng, vcf.Bytes(), err
}
