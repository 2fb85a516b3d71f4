package engine

import (
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/fasta"
	"github.com/gasproject/gas/adapters/engine/gff"
	"github.com/gasproject/gas/adapters/engine/input"
	"github.com/gasproject/gas/adapters/engine/model"
)

// GeneFormat names a gene-model file format.
type GeneFormat int

// Gene-model formats.
const (
	GFF3 GeneFormat = iota
	GTF
)

// Sources are the inputs a reference is built from. Readers may be plain,
// gzip or BGZF compressed.
type Sources struct {
	Name   string // reference label stored in the database
	Genes  io.Reader
	Format GeneFormat
	FASTA  io.Reader
	// FASTAAt and FAI, when both set, read an uncompressed FASTA through its
	// index instead of streaming it (FASTA is then ignored).
	FASTAAt io.ReaderAt
	FAI     io.Reader
}

// BuildReference parses gene models and loads the sequence they need.
func BuildReference(src Sources) (*model.Reference, error) {
	gr, err := input.Open(src.Genes, input.Limits{})
	if err != nil {
		return nil, fmt.Errorf("gene models: %w", err)
	}
	defer gr.Close()
	b := model.NewBuilder()
	if src.Format == GTF {
		err = gff.ReadGTF(gr, b, gff.Options{})
	} else {
		err = gff.ReadGFF3(gr, b, gff.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("gene models: %w", err)
	}
	ref, err := b.Build(src.Name)
	if err != nil {
		return nil, fmt.Errorf("gene models: %w", err)
	}
	if src.FASTAAt != nil && src.FAI != nil {
		idx, err := fasta.ReadIndex(src.FAI)
		if err != nil {
			return nil, err
		}
		if err := fasta.LoadIndexed(src.FASTAAt, idx, ref); err != nil {
			return nil, err
		}
		return ref, nil
	}
	if src.FASTA == nil {
		return nil, fmt.Errorf("no reference FASTA")
	}
	fr, err := input.Open(src.FASTA, input.Limits{})
	if err != nil {
		return nil, fmt.Errorf("FASTA: %w", err)
	}
	defer fr.Close()
	if err := fasta.Load(fr, ref, fasta.Options{}); err != nil {
		return nil, fmt.Errorf("FASTA: %w", err)
	}
	return ref, nil
}
