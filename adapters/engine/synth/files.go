package synth

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gasproject/gas/adapters/engine/bgzf"
)

// Files names the files WriteFiles produced.
type Files struct {
	FASTA, FAI, GFF3, Variants, Known, Truth string
	Stats                                    VariantStats
}

// FileOptions chooses the outputs of WriteFiles.
type FileOptions struct {
	// BGZFVariants writes variants.vcf.gz (BGZF) instead of variants.vcf.
	BGZFVariants bool
	// Known writes known.vcf.gz (BGZF; index it with tabix).
	Known bool
	// Truth writes known-truth.tsv (see VariantOptions.Truth).
	Truth bool
}

// WriteFiles generates cfg into dir: genome.fa (+ .fai), genes.gff3 and the
// variants, streaming the variants to disk.
func WriteFiles(dir string, cfg Config, opt FileOptions) (Files, error) {
	g, err := New(cfg)
	if err != nil {
		return Files{}, err
	}
	return g.WriteFiles(dir, opt)
}

// WriteFiles writes this genome's files into dir (see the function).
func (g *Genome) WriteFiles(dir string, opt FileOptions) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, err
	}
	f := Files{
		FASTA: filepath.Join(dir, "genome.fa"), FAI: filepath.Join(dir, "genome.fa.fai"),
		GFF3: filepath.Join(dir, "genes.gff3"), Variants: filepath.Join(dir, "variants.vcf"),
	}
	if opt.BGZFVariants {
		f.Variants += ".gz"
	}
	if err := writeFile(f.FASTA, false, g.WriteFASTA); err != nil {
		return f, err
	}
	if err := writeFile(f.FAI, false, g.WriteFAI); err != nil {
		return f, err
	}
	if err := writeFile(f.GFF3, false, g.WriteGFF3); err != nil {
		return f, err
	}
	var closers []func() error
	var vo VariantOptions
	if opt.Known {
		f.Known = filepath.Join(dir, "known.vcf.gz")
		w, c, err := create(f.Known, true)
		if err != nil {
			return f, err
		}
		vo.Known, closers = w, append(closers, c)
	}
	if opt.Truth {
		f.Truth = filepath.Join(dir, "known-truth.tsv")
		w, c, err := create(f.Truth, false)
		if err != nil {
			return f, err
		}
		vo.Truth, closers = w, append(closers, c)
	}
	w, c, err := create(f.Variants, opt.BGZFVariants)
	if err != nil {
		return f, err
	}
	closers = append(closers, c)
	f.Stats, err = g.WriteVariants(w, vo)
	for _, c := range closers {
		if cerr := c(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return f, fmt.Errorf("synth: write variants: %w", err)
	}
	return f, nil
}

func writeFile(path string, gz bool, fn func(io.Writer) error) error {
	w, c, err := create(path, gz)
	if err != nil {
		return err
	}
	err = fn(w)
	if cerr := c(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synth: write %s: %w", path, err)
	}
	return nil
}

// create opens path for writing, through BGZF when gz, and returns a closer
// that flushes everything.
func create(path string, gz bool) (io.Writer, func() error, error) {
	fh, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	if !gz {
		return bw, func() error {
			err := bw.Flush()
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
			return err
		}, nil
	}
	zw, err := bgzf.NewWriter(fh)
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	return zw, func() error {
		err := zw.Close()
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// Set is a genome's annotation, sequence and variants in memory.
type Set struct {
	GFF3, FASTA, VCF []byte
}

// InMemory generates cfg's annotation, sequence and variants (default
// VariantOptions) into memory: what benchmarks annotate without touching
// the disk.
func InMemory(cfg Config) (Set, error) {
	g, err := New(cfg)
	if err != nil {
		return Set{}, err
	}
	var gff, fa, vcf bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		return Set{}, err
	}
	if err := g.WriteFASTA(&fa); err != nil {
		return Set{}, err
	}
	if _, err := g.WriteVariants(&vcf, VariantOptions{}); err != nil {
		return Set{}, err
	}
	return Set{GFF3: gff.Bytes(), FASTA: fa.Bytes(), VCF: vcf.Bytes()}, nil
}
