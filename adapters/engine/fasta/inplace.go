package fasta

import (
	"bytes"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
)

// LoadInPlace stores into ref the sequences of a whole uncompressed FASTA
// held in data, which is at most WholeGenomeLimit bytes, so every sequence
// is kept whole, as Load keeps it. It upper-cases the bases in place and
// moves them together, and each sequence becomes a slice of data: no line
// buffer and no copy, which makes it several times faster than Load on the
// small genomes where start-up time is most of a run. It handles the plain
// case (headers and lines of bases) and reports false, leaving ref
// untouched but data changed, for anything it leaves to Load (a byte-order
// mark, comment lines, over-long lines, malformed headers or bases), so
// that Load's errors and their line numbers stay the only ones: the caller
// then reads the file again with Load.
func LoadInPlace(data []byte, ref *model.Reference, opt Options) bool {
	if len(data) > WholeGenomeLimit || bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		return false
	}
	maxLine := opt.MaxLine
	if maxLine <= 0 {
		maxLine = lineio.DefaultMaxLine
	}
	var seqs []wholeSeq
	seen := map[string]bool{}
	cur := -1 // index in seqs of the current sequence, -1 before the first header
	w := 0    // bases are moved to data[:w]
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case len(line) > maxLine:
			return false
		case len(line) == 0:
		case line[0] == '>':
			name, ok := headerName(line)
			if !ok || seen[string(name)] {
				return false
			}
			seen[string(name)] = true
			ci, known := ref.Chrom(string(name))
			seqs = append(seqs, wholeSeq{ci: ci, known: known, start: w, end: w})
			cur = len(seqs) - 1
		case line[0] == ';' || cur < 0:
			return false
		default:
			if upperBases(line, line) >= 0 {
				return false
			}
			s := &seqs[cur]
			if s.known {
				w += copy(data[w:], line)
				s.end = w
			}
			s.length += len(line)
		}
	}
	if len(seqs) == 0 {
		return false
	}
	for _, s := range seqs {
		if !s.known {
			continue
		}
		c := &ref.Chroms[s.ci]
		c.Segments = c.Segments[:0]
		c.Length = int32(s.length)
		if s.end > s.start {
			c.Segments = append(c.Segments, model.Segment{Start: 1, Seq: data[s.start:s.end:s.end]})
		}
	}
	ref.CheckCodons()
	return true
}

// wholeSeq is one sequence of the file: its reference index (when known)
// and where its bases went.
type wholeSeq struct {
	ci         int32
	known      bool
	start, end int
	length     int
}

// headerName is the name on a '>' line: up to the first blank.
func headerName(line []byte) ([]byte, bool) {
	name := line[1:]
	if i := bytes.IndexAny(name, " \t"); i >= 0 {
		name = name[:i]
	}
	return name, len(name) > 0
}
