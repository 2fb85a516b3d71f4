package tabix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/bgzf"
)

// Record locates one data line: its sequence and 0-based half-open span.
type Record struct {
	Chrom    []byte
	Beg, End int64
}

// ParseRecord extracts the indexed columns of a data line under conf. For
// VCF the end is POS+len(REF)-1, or INFO END when present and larger, as
// htslib computes it.
func ParseRecord(conf Conf, line []byte) (Record, error) {
	var rec Record
	col := int32(1)
	var refLen int
	hasEnd, hasBeg := false, false
	zeroBased := conf.Format&0x10000 != 0
	vcf := conf.Format&0xffff == 2
	for start := 0; start <= len(line); col++ {
		i := bytes.IndexByte(line[start:], '\t')
		end := len(line)
		if i >= 0 {
			end = start + i
		}
		f := line[start:end]
		switch {
		case col == conf.SeqCol:
			rec.Chrom = f
		case col == conf.BegCol:
			v, err := strconv.ParseInt(string(f), 10, 64)
			if err != nil {
				return rec, fmt.Errorf("position %q: %w", f, ErrRecord)
			}
			if !zeroBased {
				v--
			}
			rec.Beg, rec.End, hasBeg = v, v+1, true
		case col == conf.EndCol:
			v, err := strconv.ParseInt(string(f), 10, 64)
			if err != nil {
				return rec, fmt.Errorf("end %q: %w", f, ErrRecord)
			}
			rec.End, hasEnd = v, true
		case vcf && col == 4:
			refLen = len(f)
		case vcf && col == 8:
			if e, ok := infoEnd(f); ok && e > rec.Beg {
				rec.End, hasEnd = e, true // htslib ignores an END before POS
			}
		}
		if i < 0 {
			break
		}
		start = end + 1
		if col >= max(conf.SeqCol, conf.BegCol, conf.EndCol, 8) {
			break
		}
	}
	if rec.Chrom == nil || !hasBeg {
		return rec, fmt.Errorf("too few columns: %w", ErrRecord)
	}
	if vcf && !hasEnd && refLen > 0 {
		rec.End = rec.Beg + int64(refLen)
	}
	if rec.Beg < 0 || rec.End > MaxPosition {
		return rec, fmt.Errorf("position %d outside what a tabix index can address: %w", rec.Beg+1, ErrRecord)
	}
	if rec.End <= rec.Beg {
		rec.End = rec.Beg + 1
	}
	return rec, nil
}

// infoEnd finds END=<int> in a VCF INFO field.
func infoEnd(info []byte) (int64, bool) {
	for len(info) > 0 {
		k := bytes.IndexByte(info, ';')
		f := info
		if k >= 0 {
			f, info = info[:k], info[k+1:]
		} else {
			info = nil
		}
		if bytes.HasPrefix(f, []byte("END=")) {
			v, err := strconv.ParseInt(string(f[4:]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// Indexer builds an index from records pushed in file order.
type Indexer struct {
	conf    Conf
	ix      *Index
	tid     int
	lastBeg int64
	saveBin uint32
	saveOff bgzf.VirtualOffset
	lastOff bgzf.VirtualOffset
	refBeg  bgzf.VirtualOffset
	nRec    uint64
	started bool
}

// NewIndexer starts an index for a file laid out as conf.
func NewIndexer(conf Conf) *Indexer {
	return &Indexer{conf: conf, ix: &Index{conf: conf, byName: map[string]int{}}, tid: -1}
}

// Add records that the line [start, stop) of the BGZF file holds rec. Lines
// must come in file order; an out-of-order record is refused with
// ErrUnsorted.
func (x *Indexer) Add(rec Record, start, stop bgzf.VirtualOffset) error {
	name := string(rec.Chrom)
	if x.tid < 0 || name != x.ix.names[x.tid] {
		if _, seen := x.ix.byName[name]; seen {
			return fmt.Errorf("sequence %q appears again after %q: %w", name, x.ix.names[x.tid], ErrUnsorted)
		}
		x.closeRef()
		x.ix.byName[name] = len(x.ix.names)
		x.ix.names = append(x.ix.names, name)
		x.ix.refs = append(x.ix.refs, refIndex{bins: map[uint32][]Chunk{}})
		x.tid = len(x.ix.names) - 1
		x.lastBeg, x.saveBin, x.saveOff, x.refBeg, x.nRec = -1, 0xffffffff, start, start, 0
	}
	if rec.Beg < x.lastBeg {
		return fmt.Errorf("%s:%d comes after position %d: %w", name, rec.Beg+1, x.lastBeg+1, ErrUnsorted)
	}
	x.lastBeg = rec.Beg
	ref := &x.ix.refs[x.tid]
	// linear index: first record overlapping each 16 kb window
	lo, hi := rec.Beg>>minShift, (rec.End-1)>>minShift
	for int64(len(ref.linear)) <= hi {
		ref.linear = append(ref.linear, ^bgzf.VirtualOffset(0))
	}
	for w := lo; w <= hi; w++ {
		if ref.linear[w] == ^bgzf.VirtualOffset(0) {
			ref.linear[w] = start
		}
	}
	bin := reg2bin(rec.Beg, rec.End)
	if bin != x.saveBin {
		if x.saveBin != 0xffffffff {
			ref.bins[x.saveBin] = append(ref.bins[x.saveBin], Chunk{x.saveOff, start})
		}
		x.saveBin, x.saveOff = bin, start
	}
	x.lastOff = stop
	x.nRec++
	return nil
}

func (x *Indexer) closeRef() {
	if x.tid < 0 {
		return
	}
	ref := &x.ix.refs[x.tid]
	if x.saveBin != 0xffffffff {
		ref.bins[x.saveBin] = append(ref.bins[x.saveBin], Chunk{x.saveOff, x.lastOff})
	}
	for b, c := range ref.bins {
		ref.bins[b] = mergeChunks(c)
	}
	// fill empty windows: before the first record with the reference's
	// start, later ones with the previous window's offset (htslib does the same)
	fill := x.refBeg
	for i, v := range ref.linear {
		if v == ^bgzf.VirtualOffset(0) {
			ref.linear[i] = fill
		}
		fill = ref.linear[i]
	}
	ref.meta = []Chunk{{x.refBeg, x.lastOff}, {bgzf.VirtualOffset(x.nRec), 0}}
}

// Finish completes and returns the index; the Indexer is spent.
func (x *Indexer) Finish() *Index {
	x.closeRef()
	x.tid = -1
	return x.ix
}

// Build indexes a BGZF-compressed text file laid out as conf, read from r
// from its start. Header lines (conf.Meta) and the first conf.Skip lines
// are not indexed.
func Build(r io.Reader, conf Conf) (*Index, error) {
	zr := bgzf.NewReader(r)
	defer zr.Close()
	x := NewIndexer(conf)
	for n := int64(1); ; n++ {
		line, start, err := zr.ReadLine()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tabix: line %d: %w", n, err)
		}
		if n <= int64(conf.Skip) || len(line) == 0 || line[0] == conf.Meta {
			continue
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		rec, err := ParseRecord(conf, line)
		if err != nil {
			return nil, fmt.Errorf("tabix: line %d: %w", n, err)
		}
		if err := x.Add(rec, start, zr.VirtualOffset()); err != nil {
			return nil, fmt.Errorf("tabix: line %d: %w", n, err)
		}
	}
	return x.Finish(), nil
}

// IndexFile builds path+".tbi" for the BGZF VCF at path (tabix -p vcf).
func IndexFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ix, err := Build(f, VCFConf)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return ix.WriteFile(path + ".tbi")
}
