package fasta

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
)

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
		var err error
		if buf, err = readRegions(ra, ix, c, clipRegions(need[ci], ix.Length), buf); err != nil {
			return err
		}
	}
	ref.CheckCodons()
	return nil
}

// clipRegions clips the regions to a sequence of length n, in a new slice.
func clipRegions(regions []model.Range, n int64) []model.Range {
	regs := regions[:0:0]
	for _, rg := range regions {
		if int64(rg.Start) > n {
			continue
		}
		if int64(rg.End) > n {
			rg.End = int32(n)
		}
		regs = append(regs, rg)
	}
	return regs
}

// readRegions reads regs of the sequence ix into segments of c, backed by
// one array. One read serves every region up to coalesceGap bytes apart:
// thousands of exons cost a few hundred reads, not thousands. buf is
// scratch space, returned for reuse.
func readRegions(ra io.ReaderAt, ix Index, c *model.Chromosome, regs []model.Range, buf []byte) ([]byte, error) {
	var total int64
	for _, rg := range regs {
		total += int64(rg.Len())
	}
	store := make([]byte, total)
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
			return buf, fmt.Errorf("read %s:%d-%d: %w", c.Name, regs[i].Start, regs[j-1].End, err)
		}
		buf = buf[:got]
		for _, rg := range regs[i:j] {
			s, e := int64(rg.Start), int64(rg.End)
			seq := store[: e-s+1 : e-s+1]
			store = store[e-s+1:]
			if ix.fileOffset(e)-off0 >= int64(len(buf)) {
				return buf, fmt.Errorf("%w: %s:%d-%d: the file ends before the .fai says", ErrFormat, c.Name, s, e)
			}
			raw := buf[ix.fileOffset(s)-off0 : ix.fileOffset(e)-off0+1]
			if err := copyBases(seq, raw); err != nil {
				return buf, fmt.Errorf("%w: %s:%d-%d: %v", ErrFormat, c.Name, s, e, err)
			}
			c.Segments = append(c.Segments, model.Segment{Start: int32(s), Seq: seq})
		}
		i = j
	}
	return buf, nil
}
