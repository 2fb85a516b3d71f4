package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/ports"
)

// Format is an export format.
type Format string

// The export formats.
const (
	// TSV is tab-separated values with a header line of Column names.
	TSV Format = "tsv"
	// JSONL is JSON lines (NDJSON): one object per row keyed by Column JSON
	// names, numbers as JSON numbers and unknown values as null.
	JSONL Format = "jsonl"
)

// ParseFormat accepts "tsv", and "jsonl" or its older name "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "tsv":
		return TSV, nil
	case "jsonl", "json":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown export format %q (want tsv or jsonl)", s)
}

// Ext is the file name extension of the format, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// ContentType is the media type a format is served as (ports.MediaType of
// its extension: JSON lines are application/x-ndjson, not JSON).
func (f Format) ContentType() string { return ports.MediaType(f.Ext()) }

// Writer writes rows in one format. Close flushes it.
type Writer struct {
	f   Format
	bw  *bufio.Writer
	buf []byte
}

// NewWriter starts an export in format f on w (writing the TSV header).
func NewWriter(w io.Writer, f Format) *Writer {
	x := &Writer{f: f, bw: bufio.NewWriterSize(w, 256<<10)}
	if f == TSV {
		for i, c := range Columns {
			if i > 0 {
				x.bw.WriteByte('\t')
			}
			x.bw.WriteString(c.Name)
		}
		x.bw.WriteByte('\n')
	}
	return x
}

// Write writes one row.
func (x *Writer) Write(r *Row) error {
	if x.f == JSONL {
		return x.writeJSON(r)
	}
	for i, c := range Columns {
		if i > 0 {
			x.bw.WriteByte('\t')
		}
		x.bw.WriteString(tsvSafe(c.Value(r)))
	}
	return x.bw.WriteByte('\n')
}

func (x *Writer) writeJSON(r *Row) error {
	b := append(x.buf[:0], '{')
	for i, c := range Columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, c.JSON...)
		b = append(b, '"', ':')
		v := c.Value(r)
		switch {
		case c.Kind == Flag:
			b = strconv.AppendBool(b, v != "")
		case c.Kind != Text && isNull(v):
			b = append(b, "null"...)
		case c.Kind != Text:
			b = append(b, v...)
		default:
			q, _ := json.Marshal(v)
			b = append(b, q...)
		}
	}
	x.buf = append(b, '}', '\n')
	_, err := x.bw.Write(x.buf)
	return err
}

// Close flushes the export.
func (x *Writer) Close() error { return x.bw.Flush() }

// tsvSafe keeps a value on its line and in its column.
func tsvSafe(v string) string {
	if !strings.ContainsAny(v, "\t\r\n") {
		return v
	}
	return strings.Map(func(c rune) rune {
		if c == '\t' || c == '\n' || c == '\r' {
			return ' '
		}
		return c
	}, v)
}

// maxLine bounds one VCF line of a result.
const maxLine = 64 << 20

// Convert writes every row of an annotated VCF in format f.
func Convert(annotatedVCF io.Reader, w io.Writer, f Format) error {
	x := NewWriter(w, f)
	lr := lineio.NewReader(annotatedVCF, maxLine)
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return x.Close()
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := Rows(line, -1, x.Write); err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "%v", err))
		}
	}
}
