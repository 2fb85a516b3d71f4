// Package input opens a user's variant file whatever its compression —
// plain text, gzip (one or many members) or BGZF — and guards the inflated
// size: an upload of 150 KB can inflate to gigabytes, so the stream is
// refused the moment it crosses the limit rather than after it filled a
// disk or a heap. It strips nothing; the VCF reader handles BOMs and CRLF.
package input

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/ports"
)

// Limits bounds what Open will deliver.
type Limits struct {
	// MaxInflated is the largest number of bytes the stream may yield after
	// decompression (for plain input: its size). Zero means no bound.
	MaxInflated int64
}

// Format is the container a stream was detected as.
type Format int

// The formats Open recognises.
const (
	Plain Format = iota
	Gzip
	BGZF
)

// String names the format for logs and messages.
func (f Format) String() string {
	switch f {
	case Gzip:
		return "gzip"
	case BGZF:
		return "BGZF"
	default:
		return "plain"
	}
}

// badInput is a sentinel that also matches ports.ErrBadInput, so callers
// can map any of these to a user-facing "your file is wrong" answer while
// still telling them apart.
type badInput struct{ msg string }

func (e *badInput) Error() string        { return e.msg }
func (e *badInput) Is(target error) bool { return target == ports.ErrBadInput }

// Sentinels wrapped by every data error Open's stream returns. Each also
// satisfies errors.Is(err, ports.ErrBadInput).
var (
	// ErrTooLarge: the stream inflated past Limits.MaxInflated.
	ErrTooLarge error = &badInput{"input too large once decompressed"}
	// ErrTruncated: the compressed stream ends early (cut upload or copy).
	ErrTruncated error = &badInput{"compressed input truncated"}
	// ErrCorrupt: the compressed stream is damaged (bad header, CRC, data).
	ErrCorrupt error = &badInput{"compressed input corrupt"}
)

// Stream is the decoded input; Open returns one as an io.ReadCloser.
type Stream struct {
	format Format
	dec    io.Reader
	closer func() error
	src    *countingReader
	bz     *bgzf.Reader
	max    int64
	n      int64
	err    error
}

// Format reports the detected container.
func (s *Stream) Format() Format { return s.format }

// Inflated is how many bytes the stream has yielded so far.
func (s *Stream) Inflated() int64 { return s.n }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Detect peeks at the start of br without consuming it and names the
// container. An empty stream is Plain.
func Detect(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(18)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return Plain, err
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		if bgzf.IsBGZFHeader(head) {
			return BGZF, nil
		}
		return Gzip, nil
	}
	return Plain, nil
}

// Open detects the container of r and returns a reader of its content that
// enforces l. Close releases decoder goroutines and buffers; it does not
// close r. Data errors wrap ErrTooLarge, ErrTruncated or ErrCorrupt.
func Open(r io.Reader, l Limits) (io.ReadCloser, error) {
	if l.MaxInflated < 0 {
		return nil, fmt.Errorf("input: negative MaxInflated %d", l.MaxInflated)
	}
	src := &countingReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	f, err := Detect(br)
	if err != nil {
		return nil, fmt.Errorf("input: read: %w", err)
	}
	s := &Stream{format: f, src: src, max: l.MaxInflated, closer: func() error { return nil }}
	switch f {
	case Plain:
		s.dec = br
	case BGZF:
		s.bz = bgzf.NewReader(br)
		s.dec = s.bz
		s.closer = s.bz.Close
	case Gzip:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, s.mapErr(err)
		}
		s.dec = gz
		s.closer = gz.Close
	}
	return s, nil
}

// OpenFile opens path with Open; closing the result also closes the file.
func OpenFile(path string, l Limits) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rc, err := Open(f, l)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := rc.(*Stream)
	inner := s.closer
	s.closer = func() error {
		err := inner()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return s, nil
}

// Read yields decoded bytes; past Limits.MaxInflated it returns the bytes up
// to the limit and then an error wrapping ErrTooLarge.
func (s *Stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.max > 0 {
		if rem := s.max - s.n + 1; int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	n, err := s.dec.Read(p)
	s.n += int64(n)
	if s.max > 0 && s.n > s.max {
		n -= int(s.n - s.max)
		s.n = s.max
		s.err = fmt.Errorf("%w: it grows past the limit of %d bytes (%s, %d compressed bytes read)",
			ErrTooLarge, s.max, s.format, s.src.n)
		return n, s.err
	}
	if err == io.EOF && s.bz != nil && !s.bz.EOFMarker() {
		err = fmt.Errorf("%w: BGZF stream truncated after %d bytes (%d inflated): it ends without the BGZF end-of-file block",
			ErrTruncated, s.src.n, s.n)
	}
	if err != nil && err != io.EOF {
		err = s.mapErr(err)
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

// mapErr turns decoder errors into the package's sentinels with a message a
// user can act on.
func (s *Stream) mapErr(err error) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, ErrTruncated), errors.Is(err, ErrCorrupt), errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, bgzf.ErrTruncated):
		return fmt.Errorf("%w: %s stream truncated after %d bytes (%d inflated)", ErrTruncated, s.format, s.src.n, s.n)
	case errors.Is(err, bgzf.ErrCorrupt), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &ce):
		return fmt.Errorf("%w: %s stream damaged after %d inflated bytes: %v", ErrCorrupt, s.format, s.n, err)
	}
	return fmt.Errorf("input: %w", err)
}

// Close releases the decoder.
func (s *Stream) Close() error {
	if s.err == nil {
		s.err = errors.New("input: read after Close")
	}
	return s.closer()
}
