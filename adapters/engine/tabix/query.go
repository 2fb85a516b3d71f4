package tabix

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/bgzf"
)

// Iterator yields the lines of a region, fetched through an index.
type Iterator struct {
	zr       *bgzf.Reader
	conf     Conf
	chrom    []byte
	beg, end int64
	chunks   []Chunk
	cur      int
	started  bool
	err      error
}

// Query returns an iterator over the data lines of chrom overlapping
// [beg, end) (0-based, end exclusive). zr must read the indexed file and be
// seekable (its source an io.ReadSeeker); it is moved around by the
// iterator. An unknown chrom yields nothing.
func (ix *Index) Query(zr *bgzf.Reader, chrom string, beg, end int64) *Iterator {
	chunks, _ := ix.Chunks(chrom, beg, end)
	return &Iterator{zr: zr, conf: ix.conf, chrom: []byte(chrom), beg: beg, end: end, chunks: chunks}
}

// Next returns the next overlapping line (valid until the next call), or
// io.EOF after the last.
func (it *Iterator) Next() ([]byte, error) {
	for it.err == nil {
		if it.cur >= len(it.chunks) {
			it.err = io.EOF
			break
		}
		c := it.chunks[it.cur]
		if !it.started {
			if err := it.zr.Seek(c.Begin); err != nil {
				it.err = fmt.Errorf("tabix: seek: %w", err)
				break
			}
			it.started = true
		}
		if it.zr.VirtualOffset() >= c.End {
			it.cur++
			it.started = false
			continue
		}
		line, _, err := it.zr.ReadLine()
		if errors.Is(err, io.EOF) {
			it.cur++
			it.started = false
			continue
		}
		if err != nil {
			it.err = fmt.Errorf("tabix: read: %w", err)
			break
		}
		if len(line) == 0 || line[0] == it.conf.Meta {
			continue
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		rec, err := ParseRecord(it.conf, line)
		if err != nil {
			it.err = err
			break
		}
		if !bytes.Equal(rec.Chrom, it.chrom) {
			continue
		}
		if rec.Beg >= it.end {
			// sorted: nothing later in this chunk overlaps
			it.cur++
			it.started = false
			continue
		}
		if rec.End > it.beg {
			return line, nil
		}
	}
	return nil, it.err
}
