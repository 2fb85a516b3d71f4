package vartable

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// run is one chunk of rows sorted by every facet: spilled, or (the last
// one) still in the chunk, sorted facet by facet as Finish writes them.
type run struct {
	rows     int
	start    int64      // the ordinal of its first row
	counts   [][]uint32 // per facet, its rows per code
	bitmapAt int64      // in the spill file
	at       []int64    // per facet, where its postings are in the spill file; nil: not spilled
}

// spillFile holds spilled runs; it is removed when the builder closes.
// Runs go in whole (a bitmap, a facet's postings) at a time, so it is
// written without a buffer.
type spillFile struct {
	f *os.File
	n int64
}

func newSpill(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "gas-vartable-*")
	if err != nil {
		return nil, fmt.Errorf("variant index spill file: %w", err)
	}
	return &spillFile{f: f}, nil
}

// write appends p and returns where it starts.
func (s *spillFile) write(p []byte) (int64, error) {
	at := s.n
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		return 0, fmt.Errorf("spill variant index: %w", err)
	}
	return at, nil
}

// bitmap reads back r's allele-start bits.
func (s *spillFile) bitmap(r *run) ([]byte, error) {
	b := make([]byte, (r.rows+63)/64*8)
	if _, err := s.f.ReadAt(b, r.bitmapAt); err != nil {
		return nil, fmt.Errorf("read spilled variant index: %w", err)
	}
	return b, nil
}

// maxPiece bounds what one write of postings hands on: the stream the
// index goes to queues each write as a chunk.
const maxPiece = 64 << 10

// postings hands out one run's postings of one facet in order, as
// little-endian bytes: the last run's from memory, a spilled one's read
// back through r into buf.
type postings struct {
	mem []byte
	r   *bufio.Reader
	buf []byte
}

// next returns the next of n bytes of postings, at most maxPiece of them;
// they are valid until the next call.
func (p *postings) next(n int) ([]byte, error) {
	n = min(n, maxPiece)
	if p.r == nil {
		if n > len(p.mem) {
			return nil, io.ErrUnexpectedEOF
		}
		b := p.mem[:n]
		p.mem = p.mem[n:]
		return b, nil
	}
	if len(p.buf) < n {
		p.buf = make([]byte, maxPiece)
	}
	if _, err := io.ReadFull(p.r, p.buf[:n]); err != nil {
		return nil, fmt.Errorf("read spilled variant index: %w", err)
	}
	return p.buf[:n], nil
}

// open points p at a spilled run's postings of facet i, reusing its
// reader.
func (p *postings) open(s *spillFile, r *run, i int) {
	var size int64
	for _, n := range r.counts[i] {
		size += int64(n) * postingSize
	}
	sr := io.NewSectionReader(s.f, r.at[i], size)
	if p.r == nil {
		p.r = bufio.NewReaderSize(sr, maxPiece)
	} else {
		p.r.Reset(sr)
	}
}

func (s *spillFile) close() error {
	name := s.f.Name()
	err := s.f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return err
}
