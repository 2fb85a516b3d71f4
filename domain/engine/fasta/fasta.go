// Package fasta loads the parts of a reference FASTA the annotator needs.
// Whole genomes do not fit the engine's memory budget, so callers name the
// regions they want (exons and their flanks) and only those are kept: a
// streaming pass for plain or gzip input, or random access through the .fai
// index when the FASTA is an uncompressed file.
package fasta

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gasproject/gas/domain/engine/lineio"
	"github.com/gasproject/gas/domain/engine/model"
)

// ErrFormat marks malformed FASTA or .fai input.
var ErrFormat = errors.New("malformed FASTA")

// Options tune reading.
type Options struct {
	MaxLine int
}

// Load streams a FASTA and stores into ref the sequence of the regions
// NeededRegions asks for; sequence names unknown to ref are skipped, and
// chromosome lengths are recorded for every known name.
func Load(r io.Reader, ref *model.Reference, opt Options) error {
	need := ref.NeededRegions()
	lr := lineio.NewReader(r, opt.MaxLine)
	cur := int32(-1)
	var pos int32 // bases of the current sequence read so far
	var regs []model.Range
	ri := 0
	var segs []model.Segment
	seen := map[string]bool{}
	sawHeader := false
	finish := func() {
		if cur >= 0 {
			c := &ref.Chroms[cur]
			c.Length = pos
			c.Segments = append(c.Segments, segs...)
		}
		segs = nil
	}
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if len(line) == 0 {
			continue
		}
		if line[0] == '>' {
			finish()
			sawHeader = true
			name := line[1:]
			if i := bytes.IndexAny(name, " \t"); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 {
				return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "sequence header without a name"))
			}
			if seen[string(name)] {
				return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "sequence %q appears twice", name))
			}
			seen[string(name)] = true
			pos = 0
			ri = 0
			if ci, ok := ref.Chrom(string(name)); ok {
				cur = ci
				regs = need[ci]
				ref.Chroms[ci].Segments = ref.Chroms[ci].Segments[:0]
			} else {
				cur, regs = -1, nil
			}
			continue
		}
		if line[0] == ';' {
			continue
		}
		if !sawHeader {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "sequence data before the first '>' header"))
		}
		for _, c := range line {
			if seqTable[c] <= 1 && c != ' ' && c != '\t' {
				return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "character %q is not a nucleotide code", c))
			}
		}
		start := pos + 1
		pos += int32(len(line))
		if cur < 0 {
			continue
		}
		// copy the parts of this line that fall inside the needed regions
		for ri < len(regs) && regs[ri].End < start {
			ri++
		}
		for k := ri; k < len(regs) && regs[k].Start <= pos; k++ {
			rg := regs[k]
			a, b := max32(rg.Start, start), min32(rg.End, pos)
			if a > b {
				continue
			}
			chunk := line[a-start : b-start+1]
			if n := len(segs); n > 0 && segs[n-1].Start == rg.Start {
				segs[n-1].Seq = appendUpper(segs[n-1].Seq, chunk)
			} else {
				segs = append(segs, model.Segment{Start: a, Seq: appendUpper(make([]byte, 0, rg.Len()), chunk)})
				// a region that begins before this line's start was already
				// opened on an earlier line; regions are disjoint so the
				// Start equality above keeps them apart.
				if a != rg.Start {
					segs[len(segs)-1].Start = a
				}
			}
		}
	}
	finish()
	if !sawHeader {
		return fmt.Errorf("%w: no '>' sequence header found", ErrFormat)
	}
	ref.CheckCodons()
	return nil
}

// seqTable maps a FASTA byte to its upper-case base, 1 for line breaks and
// 0 for bytes that may not appear in sequence.
var seqTable = func() (t [256]byte) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c)
		t[c+'a'-'A'] = byte(c)
	}
	t['*'], t['-'] = '*', '-'
	t['\n'], t['\r'] = 1, 1
	return t
}()

func isSeqChar(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '*', c == '-', c == ' ', c == '\t':
		return true
	}
	return false
}

func appendUpper(dst, src []byte) []byte {
	for _, c := range src {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func max32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}

func min32(a, b int32) int32 {
	if a < b {
		return a
	}
	return b
}

// Index is one .fai entry.
type Index struct {
	Name      string
	Length    int64
	Offset    int64
	LineBases int64
	LineWidth int64
}

// ReadIndex parses a samtools .fai index.
func ReadIndex(r io.Reader) (map[string]Index, error) {
	lr := lineio.NewReader(r, 0)
	out := map[string]Index{}
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: fai: %w", ErrFormat, err)
		}
		if len(line) == 0 {
			continue
		}
		f := bytes.Split(line, []byte{'\t'})
		if len(f) < 5 {
			return nil, fmt.Errorf("%w: fai: %w", ErrFormat, lineio.Errorf(lr.Line(), "expected 5 columns, found %d", len(f)))
		}
		var nums [4]int64
		for i := 0; i < 4; i++ {
			v, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: fai: %w", ErrFormat, lineio.Errorf(lr.Line(), "column %d is not a number", i+2))
			}
			nums[i] = v
		}
		if nums[2] <= 0 || nums[3] < nums[2] {
			return nil, fmt.Errorf("%w: fai: %w", ErrFormat, lineio.Errorf(lr.Line(), "bad line geometry"))
		}
		out[string(f[0])] = Index{Name: string(f[0]), Length: nums[0], Offset: nums[1], LineBases: nums[2], LineWidth: nums[3]}
	}
}

// WholeGenomeLimit is the genome size (bases) up to which LoadIndexed keeps
// whole chromosomes rather than exons and their flanks.
const WholeGenomeLimit = 8 << 20

func lookup(idx map[string]Index, name string) (Index, bool) {
	if ix, ok := idx[name]; ok {
		return ix, true
	}
	for n, e := range idx {
		if model.ChromKey(n) == model.ChromKey(name) {
			return e, true
		}
	}
	return Index{}, false
}

// LoadIndexed reads only the needed regions from an uncompressed FASTA
// through its .fai index: far faster than streaming a whole genome.
func LoadIndexed(ra io.ReaderAt, idx map[string]Index, ref *model.Reference) error {
	need := ref.NeededRegions()
	// small genomes are kept whole: REF checks and known-variant
	// normalisation then work everywhere, not only around exons
	var total int64
	for _, e := range idx {
		total += e.Length
	}
	if total <= WholeGenomeLimit {
		for ci := range ref.Chroms {
			if ix, ok := lookup(idx, ref.Chroms[ci].Name); ok && ix.Length > 0 {
				need[ci] = []model.Range{{Start: 1, End: int32(ix.Length)}}
			}
		}
	}
	var buf []byte
	for ci := range ref.Chroms {
		c := &ref.Chroms[ci]
		ix, ok := lookup(idx, c.Name)
		if !ok {
			continue
		}
		c.Length = int32(ix.Length)
		c.Segments = c.Segments[:0]
		for _, rg := range need[ci] {
			s, e := int64(rg.Start), int64(rg.End)
			if s > ix.Length {
				continue
			}
			if e > ix.Length {
				e = ix.Length
			}
			off0 := ix.Offset + (s-1)/ix.LineBases*ix.LineWidth + (s-1)%ix.LineBases
			off1 := ix.Offset + (e-1)/ix.LineBases*ix.LineWidth + (e-1)%ix.LineBases
			n := off1 - off0 + 1
			if int64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if _, err := ra.ReadAt(buf, off0); err != nil && err != io.EOF {
				return fmt.Errorf("read %s:%d-%d: %w", c.Name, s, e, err)
			}
			seq := make([]byte, e-s+1)
			k := 0
			for _, b := range buf {
				u := seqTable[b]
				if u <= 1 {
					if u == 1 {
						continue // line break
					}
					return fmt.Errorf("%w: %s:%d-%d: byte %q is not a nucleotide (stale .fai?)", ErrFormat, c.Name, s, e, b)
				}
				if k == len(seq) {
					k++
					break
				}
				seq[k] = u
				k++
			}
			if k != len(seq) {
				return fmt.Errorf("%w: %s:%d-%d: .fai does not match the FASTA", ErrFormat, c.Name, s, e)
			}
			if int64(len(seq)) != e-s+1 {
				return fmt.Errorf("%w: %s:%d-%d: .fai does not match the FASTA", ErrFormat, c.Name, s, e)
			}
			c.Segments = append(c.Segments, model.Segment{Start: int32(s), Seq: seq})
		}
	}
	ref.CheckCodons()
	return nil
}
