package results

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/input"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Errors of the limited input, each also a ports.ErrBadInput.
var (
	errTooManyRecords  = &badInput{"too many variant records"}
	errCompressedTwice = &badInput{"the file is compressed twice: upload the VCF, or the VCF compressed once with gzip or bgzip"}
)

type badInput struct{ msg string }

func (e *badInput) Error() string        { return e.msg }
func (e *badInput) Is(target error) bool { return target == ports.ErrBadInput }

// limited opens the input object's content, decompressed, failing the
// read that passes limits: its VCF text once decompressed, counted as it
// inflates, and its variant records (lines not starting with '#'). So a
// small compressed upload that inflates to gigabytes stops at the limit,
// before the engine or the object store sees more. Content compressed a
// second time is refused: its inner layer would inflate past the count.
func limited(r io.Reader, limits domain.InputLimits) (io.ReadCloser, error) {
	rc, err := input.Open(r, input.Limits{MaxInflated: max(limits.Decompressed, 0)})
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	if f, err := input.Detect(br); err != nil {
		rc.Close()
		return nil, err
	} else if f != input.Plain {
		rc.Close()
		return nil, errCompressedTwice
	}
	return struct {
		io.Reader
		io.Closer
	}{&recordCounter{r: br, max: limits.Records, start: true}, rc}, nil
}

// exceeded maps a limited input's failure to the plan's error naming the
// limit (nil when err is about something else).
func exceeded(err error, limits domain.InputLimits) error {
	var which domain.Limit
	switch {
	case errors.Is(err, input.ErrTooLarge):
		which = domain.LimitDecompressed
	case errors.Is(err, errTooManyRecords):
		which = domain.LimitRecords
	default:
		return nil
	}
	return fmt.Errorf("%w: %w", ports.ErrBadInput, limits.Exceeded(which))
}

// recordCounter fails the read in which the max+1st variant record
// starts (max <= 0: no bound).
type recordCounter struct {
	r        io.Reader
	max, n   int64
	start    bool // the next byte begins a line
	exceeded bool
}

func (c *recordCounter) Read(p []byte) (int, error) {
	if c.exceeded {
		return 0, errTooManyRecords
	}
	n, err := c.r.Read(p)
	if c.max <= 0 {
		return n, err
	}
	for buf := p[:n]; len(buf) > 0; {
		if c.start && buf[0] != '#' && buf[0] != '\n' && buf[0] != '\r' {
			if c.n++; c.n > c.max {
				c.exceeded = true
				return 0, errTooManyRecords
			}
		}
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			c.start = false
			break
		}
		buf, c.start = buf[i+1:], true
	}
	return n, err
}
