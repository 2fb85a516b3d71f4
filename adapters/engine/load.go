package engine

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"

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
	if err := loadFASTA(src.FASTA, ref); err != nil {
		return nil, fmt.Errorf("FASTA: %w", err)
	}
	return ref, nil
}

// loadFASTA streams the FASTA into ref, except a small uncompressed file,
// which it reads at once and parses in place (fasta.LoadInPlace): on the
// genomes of tests, local mode and quick jobs, start-up is most of a run.
func loadFASTA(r io.Reader, ref *model.Reference) error {
	if f, ok := r.(smallFile); ok {
		data, err := readSmall(f)
		if err != nil {
			return err
		}
		switch {
		case data == nil:
		case bytes.HasPrefix(data, []byte{0x1f, 0x8b}): // gzip or BGZF
			r = bytes.NewReader(data)
		case fasta.LoadInPlace(data, ref, fasta.Options{}):
			return nil
		default: // left to the streaming reader, which reports the problem
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
	}
	fr, err := input.Open(r, input.Limits{})
	if err != nil {
		return err
	}
	defer fr.Close()
	return fasta.Load(fr, ref, fasta.Options{})
}

// smallFile is what loadFASTA needs to read a file at once: its size, and
// a way back to its start.
type smallFile interface {
	io.ReadSeeker
	Stat() (fs.FileInfo, error)
}

// readSmall reads f whole when it is a regular file of at most
// fasta.WholeGenomeLimit bytes, read from its start; otherwise it returns
// nil and leaves f where it was.
func readSmall(f smallFile) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > fasta.WholeGenomeLimit {
		return nil, nil
	}
	if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		return nil, nil
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
