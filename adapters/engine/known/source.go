package known

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/input"
)

// lineSource yields lines with a position that Seek can return to: a
// virtual offset for BGZF, a byte offset of the text otherwise.
type lineSource interface {
	ReadLine() (line []byte, off int64, err error)
	SeekTo(off int64) error
	Close() error
}

func newLineSource(rs io.ReadSeeker) (lineSource, input.Format, error) {
	br := bufio.NewReaderSize(rs, 64)
	f, err := input.Detect(br)
	if err != nil {
		return nil, f, fmt.Errorf("%w: %v", ErrSource, err)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, f, fmt.Errorf("%w: %v", ErrSource, err)
	}
	switch f {
	case input.BGZF:
		return &bgzfSource{zr: bgzf.NewReader(rs, bgzf.WithMaxLine(maxLine))}, f, nil
	case input.Gzip:
		gz, err := gzip.NewReader(rs)
		if err != nil {
			return nil, f, fmt.Errorf("%w: %v", ErrSource, err)
		}
		return &textSource{rs: rs, gz: gz, br: bufio.NewReaderSize(gz, 256<<10)}, f, nil
	default:
		return &textSource{rs: rs, br: bufio.NewReaderSize(rs, 256<<10)}, f, nil
	}
}

// maxLine bounds one known-variants line (dbSNP lines are a few KB).
const maxLine = 16 << 20

type bgzfSource struct{ zr *bgzf.Reader }

func (b *bgzfSource) ReadLine() ([]byte, int64, error) {
	l, v, err := b.zr.ReadLine()
	return l, int64(v), err
}
func (b *bgzfSource) SeekTo(off int64) error { return b.zr.Seek(bgzf.VirtualOffset(off)) }
func (b *bgzfSource) Close() error           { return b.zr.Close() }

// textSource reads plain or (non-BGZF) gzip text; for gzip a backward Seek
// restarts decompression from the beginning.
type textSource struct {
	rs   io.ReadSeeker
	gz   *gzip.Reader
	br   *bufio.Reader
	off  int64
	long []byte
}

func (t *textSource) ReadLine() ([]byte, int64, error) {
	start := t.off
	line, err := t.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		t.long = append(t.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(t.long) > maxLine {
				return nil, start, fmt.Errorf("line at byte %d longer than %d bytes", start, maxLine)
			}
			line, err = t.br.ReadSlice('\n')
			t.long = append(t.long, line...)
		}
		line = t.long
	}
	t.off += int64(len(line))
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, start, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return line, start, nil
}

func (t *textSource) SeekTo(off int64) error {
	if t.gz == nil {
		if _, err := t.rs.Seek(off, io.SeekStart); err != nil {
			return err
		}
		t.br.Reset(t.rs)
		t.off = off
		return nil
	}
	if off < t.off {
		if _, err := t.rs.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := t.gz.Reset(t.rs); err != nil {
			return err
		}
		t.br.Reset(t.gz)
		t.off = 0
	}
	n, err := t.br.Discard(int(off - t.off))
	t.off += int64(n)
	return err
}

func (t *textSource) Close() error {
	if t.gz != nil {
		return t.gz.Close()
	}
	return nil
}
