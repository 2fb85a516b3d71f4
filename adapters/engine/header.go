package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/lineio"
)

// readHeader consumes the header, returning it with the ANN line added, and
// the first data line (nil at EOF) with its number.
func (e *Engine) readHeader(br *bufio.Reader) ([]byte, []byte, int64, error) {
	lr := lineio.NewReader(br, e.opt.MaxLine)
	var hdr []byte
	n := 0
	sawChrom := false
	for {
		line, err := lr.Next()
		if err == io.EOF {
			if err := headerAtEOF(n, sawChrom, lr.Line()); err != nil {
				return nil, nil, 0, err
			}
			return hdr, nil, 0, nil
		}
		if err != nil {
			return nil, nil, 0, readError(err)
		}
		n++
		if n == 1 && !bytes.HasPrefix(line, []byte("##fileformat=VCF")) {
			return nil, nil, 0, notVCF(line)
		}
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, []byte("##INFO=<ID=ANN,")):
			// replaced by ours
		case bytes.HasPrefix(line, []byte("##")):
			hdr = append(hdr, line...)
			hdr = append(hdr, '\n')
		case bytes.HasPrefix(line, []byte("#CHROM")):
			if err := checkColumns(line, lr.Line()); err != nil {
				return nil, nil, 0, err
			}
			hdr = e.appendOurHeader(hdr)
			hdr = append(hdr, line...)
			hdr = append(hdr, '\n')
			sawChrom = true
		case line[0] == '#':
			return nil, nil, 0, badInput(lr.Line(), "malformed header line (starts with a single '#' but is not #CHROM)")
		case !sawChrom:
			return nil, nil, 0, badInput(lr.Line(), "missing header: data line before the #CHROM line")
		default:
			first := append([]byte(nil), line...)
			first = append(first, '\n')
			return hdr, first, lr.Line(), nil
		}
	}
}

// headerAtEOF is the verdict on an input that ends within its header
// after n lines: fine once the #CHROM line was seen.
func headerAtEOF(n int, sawChrom bool, line int64) error {
	switch {
	case n == 0:
		return badInput(0, "empty input: not a VCF file")
	case !sawChrom:
		return badInput(line, "missing header: no #CHROM line")
	}
	return nil
}

// readError names a failure to read the header: a line over the limit
// is the user's, anything else the reader's.
func readError(err error) error {
	var le *lineio.LineError
	if errors.As(err, &le) {
		return badInput(le.Line, "%v", le.Err)
	}
	return fmt.Errorf("read input: %w", err)
}

// notVCF explains a first line that is not ##fileformat=VCF.
func notVCF(first []byte) error {
	if isBinaryish(first) {
		return badInput(1, "missing header: this does not look like a VCF text file")
	}
	return badInput(1, "missing header: the first line must be ##fileformat=VCFv4.x")
}

func isBinaryish(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			return true
		}
	}
	return false
}

// checkColumns checks the #CHROM line names the eight fixed columns.
func checkColumns(line []byte, lineNo int64) error {
	cols := bytes.Split(line, []byte{'\t'})
	want := []string{"#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"}
	if len(cols) < 8 {
		return badInput(lineNo, "#CHROM header line has %d tab-separated columns, expected at least 8", len(cols))
	}
	for i, w := range want {
		if string(cols[i]) != w {
			return badInput(lineNo, "#CHROM header column %d is %q, expected %q", i+1, cols[i], w)
		}
	}
	return nil
}

// appendOurHeader declares what annotation adds: ANN, and KNOWN_AF with
// known variants.
func (e *Engine) appendOurHeader(hdr []byte) []byte {
	hdr = append(hdr, csq.ANNHeader...)
	hdr = append(hdr, '\n')
	if e.opt.Known != nil {
		hdr = append(hdr, knownHeader...)
	}
	return hdr
}
