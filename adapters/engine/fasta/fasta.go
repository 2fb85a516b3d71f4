// Package fasta loads the parts of a reference FASTA the annotator needs.
// Whole genomes do not fit the engine's memory budget, so callers name the
// regions they want (exons and their flanks) and only those are kept: a
// streaming pass for plain or gzip input, or random access through the .fai
// index when the FASTA is an uncompressed file.
package fasta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
)

// ErrFormat marks malformed FASTA or .fai input.
var ErrFormat = errors.New("malformed FASTA")

// Options tune reading.
type Options struct {
	MaxLine int
}

// Load streams a FASTA and stores into ref the sequence of the regions
// NeededRegions asks for; sequence names unknown to ref are skipped, and
// chromosome lengths are recorded for every known name. A genome of at
// most WholeGenomeLimit bases is kept whole, as LoadIndexed keeps it, so a
// reference gives the same annotations whether or not its FASTA has a .fai.
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
	// Until the genome proves larger than WholeGenomeLimit, every known
	// sequence is kept whole (whole holds the current one); then what was
	// kept is cut down to the needed regions and the rest streams by region.
	keepWhole := true
	var total int64
	var whole []byte // the current sequence while kept whole
	var up []byte    // the current line, checked and upper-cased
	finish := func() {
		if cur >= 0 {
			c := &ref.Chroms[cur]
			c.Length = pos
			if keepWhole {
				if n := len(whole); n > 0 {
					c.Segments = append(c.Segments, model.Segment{Start: 1, Seq: whole[:n:n]})
					// the next sequence likely has a similar length
					whole = make([]byte, 0, n+n/8)
				}
			} else {
				c.Segments = append(c.Segments, segs...)
			}
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
		if cap(up) < len(line) {
			up = make([]byte, len(line))
		}
		up = up[:len(line)]
		if i := upperBases(up, line); i >= 0 {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "character %q is not a nucleotide code", line[i]))
		}
		start := pos + 1
		pos += int32(len(line))
		total += int64(len(line))
		if keepWhole && total > WholeGenomeLimit {
			keepWhole = false
			for ci := range ref.Chroms { // sequences already finished
				if int32(ci) != cur {
					cutToRegions(&ref.Chroms[ci], need[ci])
				}
			}
			if cur >= 0 { // the current one, up to the previous line
				segs = regionsOf(whole, need[cur], start-1)
			}
			whole = nil
		}
		if cur < 0 {
			continue
		}
		if keepWhole {
			if whole == nil {
				whole = make([]byte, 0, 1<<20)
			}
			whole = append(whole, up...)
			continue
		}
		// copy the parts of this line that fall inside the needed regions
		for ri < len(regs) && regs[ri].End < start {
			ri++
		}
		for k := ri; k < len(regs) && regs[k].Start <= pos; k++ {
			rg := regs[k]
			a, b := max(rg.Start, start), min(rg.End, pos)
			if a > b {
				continue
			}
			chunk := up[a-start : b-start+1]
			if n := len(segs); n > 0 && segs[n-1].Start == rg.Start {
				segs[n-1].Seq = append(segs[n-1].Seq, chunk...)
			} else {
				segs = append(segs, model.Segment{Start: a, Seq: append(make([]byte, 0, rg.Len()), chunk...)})
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

// regionsOf copies out of seq (positions 1..len) the parts of regions
// that lie at or before position upto, as segments of their own storage.
func regionsOf(seq []byte, regions []model.Range, upto int32) []model.Segment {
	var segs []model.Segment
	for _, rg := range regions {
		if rg.Start > upto || int(rg.Start) > len(seq) {
			break
		}
		b := min(min(rg.End, upto), int32(len(seq)))
		part := append(make([]byte, 0, rg.Len()), seq[rg.Start-1:b]...)
		segs = append(segs, model.Segment{Start: rg.Start, Seq: part})
	}
	return segs
}

// cutToRegions replaces a chromosome kept whole by its needed regions.
func cutToRegions(c *model.Chromosome, regions []model.Range) {
	if len(c.Segments) != 1 || c.Segments[0].Start != 1 {
		return
	}
	c.Segments = regionsOf(c.Segments[0].Seq, regions, 1<<31-1)
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

// upperBases writes src upper-cased into dst (as long as src) and returns
// -1, or the index of the first byte that may not appear in a sequence
// line (letters, '*', '-', and blanks, which are kept). Eight letters are
// handled at once: a genome is mostly long runs of them.
func upperBases(dst, src []byte) int {
	i := 0
	for ; i+8 <= len(src); i += 8 {
		if u, ok := upperLetters(binary.LittleEndian.Uint64(src[i:])); ok {
			binary.LittleEndian.PutUint64(dst[i:], u)
			continue
		}
		for k := i; k < i+8; k++ {
			if !upperByte(dst, src, k) {
				return k
			}
		}
	}
	for ; i < len(src); i++ {
		if !upperByte(dst, src, i) {
			return i
		}
	}
	return -1
}

func upperByte(dst, src []byte, k int) bool {
	c := src[k]
	u := seqTable[c]
	if u <= 1 {
		if c != ' ' && c != '\t' {
			return false
		}
		u = c
	}
	dst[k] = u
	return true
}

// upperLetters reports whether all eight bytes of x are ASCII letters and
// returns them upper-cased. Clearing bit 5 maps exactly the letters (and
// nothing else) into 'A'..'Z'.
func upperLetters(x uint64) (uint64, bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	u := x &^ (0x20 * ones)
	// any byte below 'A', or above 'Z' (or with the high bit set)?
	below := (u - 'A'*ones) &^ u & high
	above := ((u + (0x7f-'Z')*ones) | u) & high
	return u, below|above == 0
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

// coalesceGap is the largest stretch of unneeded file LoadIndexed reads
// through rather than issue another read.
const coalesceGap = 4 << 10

// fileOffset is the byte offset of 1-based position p of the sequence.
func (ix Index) fileOffset(p int64) int64 {
	return ix.Offset + (p-1)/ix.LineBases*ix.LineWidth + (p-1)%ix.LineBases
}

// copyBases fills seq with the upper-cased bases of raw (FASTA text between
// two positions, line breaks included); raw must hold exactly len(seq)
// bases, or the index does not describe the file.
func copyBases(seq, raw []byte) error {
	k := 0
	for i := 0; i < len(raw); i++ {
		if i+8 <= len(raw) && k+8 <= len(seq) {
			if u, ok := upperLetters(binary.LittleEndian.Uint64(raw[i:])); ok {
				binary.LittleEndian.PutUint64(seq[k:], u)
				i += 7
				k += 8
				continue
			}
		}
		b := raw[i]
		u := seqTable[b]
		if u <= 1 {
			if u == 1 {
				continue // line break
			}
			return fmt.Errorf("byte %q is not a nucleotide (stale .fai?)", b)
		}
		if k == len(seq) {
			return errors.New(".fai does not match the FASTA")
		}
		seq[k] = u
		k++
	}
	if k != len(seq) {
		return errors.New(".fai does not match the FASTA")
	}
	return nil
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
		// clip the regions to the sequence and give them one backing array
		regs := need[ci][:0:0]
		var total int64
		for _, rg := range need[ci] {
			if int64(rg.Start) > ix.Length {
				continue
			}
			if int64(rg.End) > ix.Length {
				rg.End = int32(ix.Length)
			}
			regs = append(regs, rg)
			total += int64(rg.Len())
		}
		store := make([]byte, total)
		// one read serves every region up to coalesceGap bytes apart:
		// thousands of exons cost a few hundred reads, not thousands
		for i := 0; i < len(regs); {
			j := i + 1
			for j < len(regs) && ix.fileOffset(int64(regs[j].Start))-ix.fileOffset(int64(regs[j-1].End)) <= coalesceGap {
				j++
			}
			off0 := ix.fileOffset(int64(regs[i].Start))
			n := ix.fileOffset(int64(regs[j-1].End)) - off0 + 1
			if int64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			got, err := ra.ReadAt(buf[:n], off0)
			if err != nil && err != io.EOF {
				return fmt.Errorf("read %s:%d-%d: %w", c.Name, regs[i].Start, regs[j-1].End, err)
			}
			buf = buf[:got]
			for _, rg := range regs[i:j] {
				s, e := int64(rg.Start), int64(rg.End)
				seq := store[: e-s+1 : e-s+1]
				store = store[e-s+1:]
				if ix.fileOffset(e)-off0 >= int64(len(buf)) {
					return fmt.Errorf("%w: %s:%d-%d: the file ends before the .fai says", ErrFormat, c.Name, s, e)
				}
				raw := buf[ix.fileOffset(s)-off0 : ix.fileOffset(e)-off0+1]
				if err := copyBases(seq, raw); err != nil {
					return fmt.Errorf("%w: %s:%d-%d: %v", ErrFormat, c.Name, s, e, err)
				}
				c.Segments = append(c.Segments, model.Segment{Start: int32(s), Seq: seq})
			}
			i = j
		}
	}
	ref.CheckCodons()
	return nil
}
