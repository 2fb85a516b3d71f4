// Package lineio reads text files line by line with the guarantees every
// engine parser needs: line numbers for error messages, Windows line endings
// and a UTF-8 byte-order mark accepted, and a hard limit on line length that
// is enforced the moment a line crosses it (a hostile file cannot make the
// reader buffer gigabytes looking for a newline).
package lineio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrLineTooLong is wrapped by LineError when a line exceeds the limit.
var ErrLineTooLong = errors.New("line too long")

// LineError names the line an input problem was found on.
type LineError struct {
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Errorf builds a LineError.
func Errorf(line int64, format string, args ...any) error {
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}

// DefaultMaxLine is the default line length limit (bytes).
const DefaultMaxLine = 1 << 20

// Reader yields lines without their terminator.
type Reader struct {
	br      *bufio.Reader
	max     int
	line    int64
	long    []byte
	started bool
}

// NewReader reads r with lines of at most max bytes (DefaultMaxLine if max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	size := 64 << 10
	if max+2 < size {
		size = max + 2
	}
	if size < 16 {
		size = 16
	}
	return &Reader{br: bufio.NewReaderSize(r, size), max: max}
}

// Line is the number of the line last returned (1-based).
func (r *Reader) Line() int64 { return r.line }

// Next returns the next line, valid until the following call; io.EOF at the end.
func (r *Reader) Next() ([]byte, error) {
	r.long = r.long[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.long = append(r.long, chunk...)
			if len(r.long) > r.max+1 {
				return nil, &LineError{Line: r.line + 1, Err: fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, r.max)}
			}
			continue
		}
		var line []byte
		if len(r.long) > 0 {
			r.long = append(r.long, chunk...)
			line = r.long
		} else {
			line = chunk
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		r.line++
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if !r.started {
			r.started = true
			if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
				line = line[3:]
			}
		}
		if len(line) > r.max {
			return nil, &LineError{Line: r.line, Err: fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, r.max)}
		}
		return line, nil
	}
}
