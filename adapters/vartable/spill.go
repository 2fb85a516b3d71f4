package vartable

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// run is one sorted chunk of rows: in memory (the last one) or spilled.
type run struct {
	rows     int
	first    []uint64 // allele-start bits, while in memory
	bitmapAt int64    // in the spill file
	facets   []runFacet
}

// runFacet is a run's postings of one facet.
type runFacet struct {
	counts   []uint32 // per code
	mem      []uint32 // the postings, while in memory
	at, size int64    // in the spill file
}

// spillFile holds spilled runs; it is removed when the builder closes.
type spillFile struct {
	f *os.File
	w *bufio.Writer
	n int64
}

func newSpill(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "gas-vartable-*")
	if err != nil {
		return nil, fmt.Errorf("variant index spill file: %w", err)
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// write spills r and drops its in-memory copies.
func (s *spillFile) write(r *run) error {
	var buf [8]byte
	r.bitmapAt = s.n
	for _, w := range r.first {
		binary.LittleEndian.PutUint64(buf[:], w)
		if _, err := s.w.Write(buf[:]); err != nil {
			return fmt.Errorf("spill variant index: %w", err)
		}
	}
	s.n += int64(len(r.first)) * 8
	r.first = nil
	for i := range r.facets {
		rf := &r.facets[i]
		rf.at = s.n
		for _, o := range rf.mem {
			binary.LittleEndian.PutUint32(buf[:4], o)
			if _, err := s.w.Write(buf[:4]); err != nil {
				return fmt.Errorf("spill variant index: %w", err)
			}
		}
		rf.size = int64(len(rf.mem)) * postingSize
		s.n += rf.size
		rf.mem = nil
	}
	return nil
}

// bitmap returns r's allele-start words (read back when spilled).
func (s *spillFile) bitmap(r *run) ([]uint64, error) {
	if r.first != nil || s == nil {
		return r.first, nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spill variant index: %w", err)
	}
	b := make([]byte, (r.rows+63)/64*8)
	if _, err := s.f.ReadAt(b, r.bitmapAt); err != nil {
		return nil, fmt.Errorf("read spilled variant index: %w", err)
	}
	words := make([]uint64, len(b)/8)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return words, nil
}

// postingReader hands out one run's postings of one facet in order, as
// little-endian bytes.
type postingReader interface {
	next(dst []byte) error
}

type memPostings struct{ p []uint32 }

func (m *memPostings) next(dst []byte) error {
	n := len(dst) / postingSize
	if n > len(m.p) {
		return io.ErrUnexpectedEOF
	}
	for i, o := range m.p[:n] {
		binary.LittleEndian.PutUint32(dst[i*postingSize:], o)
	}
	m.p = m.p[n:]
	return nil
}

type filePostings struct{ r *bufio.Reader }

func (f *filePostings) next(dst []byte) error {
	_, err := io.ReadFull(f.r, dst)
	if err != nil {
		return fmt.Errorf("read spilled variant index: %w", err)
	}
	return nil
}

// readers opens every run's postings of facet i.
func (s *spillFile) readers(runs []*run, i int) ([]postingReader, error) {
	if s != nil {
		if err := s.w.Flush(); err != nil {
			return nil, fmt.Errorf("spill variant index: %w", err)
		}
	}
	out := make([]postingReader, len(runs))
	for k, r := range runs {
		rf := r.facets[i]
		if rf.mem != nil || s == nil {
			out[k] = &memPostings{rf.mem}
			continue
		}
		out[k] = &filePostings{bufio.NewReaderSize(io.NewSectionReader(s.f, rf.at, rf.size), 64<<10)}
	}
	return out, nil
}

func (s *spillFile) close() error {
	name := s.f.Name()
	err := s.f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return err
}
