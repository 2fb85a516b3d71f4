// Package tabix reads and writes tabix (.tbi) indexes, the htslib format
// (tabix.pdf) that lets a tool fetch the records of one region of a
// position-sorted BGZF text file without reading the rest. GAS uses it to
// look up known variants in dbSNP-sized files in bounded memory, and builds
// it for a sorted known-variants VCF that ships without one.
package tabix

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/gasproject/gas/adapters/engine/bgzf"
)

// Binning scheme constants of the tabix/BAI index (SAMv1 section 5.3).
const (
	minShift = 14
	depth    = 5
	metaBin  = 37450 // pseudo-bin holding per-reference statistics
	// MaxPosition is the largest coordinate a tabix index can address;
	// longer sequences need CSI.
	MaxPosition = 1 << 29
)

// Sentinel errors.
var (
	// ErrFormat: the index file is not a valid tabix index.
	ErrFormat = errors.New("tabix: invalid index")
	// ErrUnsorted: records are not sorted by chromosome block and position,
	// so the file cannot be indexed (sort it, e.g. bcftools sort).
	ErrUnsorted = errors.New("tabix: file not sorted by position")
	// ErrRecord: a data line lacks the columns the index needs.
	ErrRecord = errors.New("tabix: malformed record")
)

// Conf is the tabix header describing the indexed text format.
type Conf struct {
	Format int32 // 0 generic, 1 SAM, 2 VCF; 0x10000 set for 0-based half-open
	SeqCol int32 // 1-based column of the sequence name
	BegCol int32 // 1-based column of the start position
	EndCol int32 // 1-based column of the end position (0: none)
	Meta   byte  // header lines start with this character
	Skip   int32 // number of leading lines to skip
}

// VCFConf is tabix -p vcf.
var VCFConf = Conf{Format: 2, SeqCol: 1, BegCol: 2, EndCol: 0, Meta: '#', Skip: 0}

// Chunk is a range of virtual offsets [Begin, End) holding records of a bin.
type Chunk struct{ Begin, End bgzf.VirtualOffset }

type refIndex struct {
	bins   map[uint32][]Chunk
	linear []bgzf.VirtualOffset
	meta   []Chunk // pseudo-bin: {first, last offset}, {mapped, unmapped}
}

// Index is a parsed tabix index.
type Index struct {
	conf   Conf
	names  []string
	byName map[string]int
	refs   []refIndex
	noCoor uint64
}

// Conf returns the indexed file's layout.
func (ix *Index) Conf() Conf { return ix.conf }

// Names lists the sequence names in file order.
func (ix *Index) Names() []string { return append([]string(nil), ix.names...) }

// Has reports whether the index knows the sequence name.
func (ix *Index) Has(name string) bool { _, ok := ix.byName[name]; return ok }

// reg2bin is the smallest bin holding [beg, end) (0-based, end exclusive).
func reg2bin(beg, end int64) uint32 {
	end--
	switch {
	case beg>>14 == end>>14:
		return uint32(((1<<15)-1)/7 + (beg >> 14))
	case beg>>17 == end>>17:
		return uint32(((1<<12)-1)/7 + (beg >> 17))
	case beg>>20 == end>>20:
		return uint32(((1<<9)-1)/7 + (beg >> 20))
	case beg>>23 == end>>23:
		return uint32(((1<<6)-1)/7 + (beg >> 23))
	case beg>>26 == end>>26:
		return uint32(((1<<3)-1)/7 + (beg >> 26))
	}
	return 0
}

// reg2bins lists every bin that may hold records overlapping [beg, end).
func reg2bins(beg, end int64) []uint32 {
	end--
	bins := []uint32{0}
	for _, l := range []struct{ off, shift int64 }{{1, 26}, {9, 23}, {73, 20}, {585, 17}, {4681, 14}} {
		for k := l.off + beg>>l.shift; k <= l.off+end>>l.shift; k++ {
			bins = append(bins, uint32(k))
		}
	}
	return bins
}

// Chunks returns the sorted, merged virtual-offset ranges that hold every
// record overlapping [beg, end) (0-based, end exclusive) of chrom; ok is
// false when the index does not know chrom. Ranges may also hold records
// outside the region: callers filter.
func (ix *Index) Chunks(chrom string, beg, end int64) (chunks []Chunk, ok bool) {
	tid, ok := ix.byName[chrom]
	if !ok {
		return nil, false
	}
	beg = max(beg, 0)
	end = min(end, MaxPosition)
	if end <= beg {
		return nil, true
	}
	ref := &ix.refs[tid]
	var minOff bgzf.VirtualOffset
	if n := len(ref.linear); n > 0 {
		if w := beg >> minShift; w < int64(n) {
			minOff = ref.linear[w]
		} else {
			minOff = ref.linear[n-1]
		}
	}
	for _, b := range reg2bins(beg, end) {
		for _, c := range ref.bins[b] {
			if c.End > minOff {
				chunks = append(chunks, c)
			}
		}
	}
	return mergeChunks(chunks), true
}

// mergeChunks sorts chunks and joins those that overlap or touch within a
// BGZF block (htslib's rule: reading on costs less than a seek).
func mergeChunks(c []Chunk) []Chunk {
	if len(c) == 0 {
		return c
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Begin < c[j].Begin })
	out := c[:1]
	for _, x := range c[1:] {
		last := &out[len(out)-1]
		if x.Begin.BlockOffset() <= last.End.BlockOffset() {
			if x.End > last.End {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// Read parses a .tbi index from r (BGZF-compressed, as tabix writes it).
func Read(r io.Reader) (*Index, error) {
	zr := bgzf.NewReader(r, bgzf.WithWorkers(1))
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, 4<<30))
	if err != nil {
		return nil, fmt.Errorf("tabix: read index: %w", err)
	}
	return parse(data)
}

// ReadFile reads the index at path (usually the data file + ".tbi").
func ReadFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b) < n {
		d.err = fmt.Errorf("index ends early: %w", ErrFormat)
		return false
	}
	return true
}

func (d *decoder) i32() int32 {
	if !d.need(4) {
		return 0
	}
	v := int32(binary.LittleEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) count(what string, per int) int {
	n := d.i32()
	if d.err == nil && (n < 0 || int64(n)*int64(per) > int64(len(d.b))) {
		d.err = fmt.Errorf("%s count %d larger than the index: %w", what, n, ErrFormat)
		return 0
	}
	return int(n)
}

func parse(data []byte) (*Index, error) {
	if len(data) < 4 || string(data[:4]) != "TBI\x01" {
		return nil, fmt.Errorf("missing TBI magic: %w", ErrFormat)
	}
	d := &decoder{b: data[4:]}
	nref := d.count("reference", 8)
	ix := &Index{byName: map[string]int{}}
	ix.conf = Conf{Format: d.i32(), SeqCol: d.i32(), BegCol: d.i32(), EndCol: d.i32(), Meta: byte(d.i32()), Skip: d.i32()}
	lnm := d.count("name bytes", 1)
	if !d.need(lnm) {
		return nil, d.err
	}
	names := d.b[:lnm]
	d.b = d.b[lnm:]
	for len(names) > 0 {
		i := bytes.IndexByte(names, 0)
		if i < 0 {
			return nil, fmt.Errorf("unterminated sequence name: %w", ErrFormat)
		}
		ix.byName[string(names[:i])] = len(ix.names)
		ix.names = append(ix.names, string(names[:i]))
		names = names[i+1:]
	}
	if len(ix.names) != nref {
		return nil, fmt.Errorf("%d names for %d references: %w", len(ix.names), nref, ErrFormat)
	}
	ix.refs = make([]refIndex, nref)
	for t := 0; t < nref; t++ {
		ref := refIndex{bins: map[uint32][]Chunk{}}
		nbin := d.count("bin", 8)
		for i := 0; i < nbin && d.err == nil; i++ {
			bin := uint32(d.i32())
			nch := d.count("chunk", 16)
			chunks := make([]Chunk, 0, nch)
			for j := 0; j < nch; j++ {
				chunks = append(chunks, Chunk{bgzf.VirtualOffset(d.u64()), bgzf.VirtualOffset(d.u64())})
			}
			if bin == metaBin {
				ref.meta = chunks
			} else {
				ref.bins[bin] = chunks
			}
		}
		nintv := d.count("linear index", 8)
		ref.linear = make([]bgzf.VirtualOffset, nintv)
		for i := range ref.linear {
			ref.linear[i] = bgzf.VirtualOffset(d.u64())
		}
		if d.err != nil {
			return nil, d.err
		}
		ix.refs[t] = ref
	}
	if len(d.b) >= 8 {
		ix.noCoor = d.u64()
	}
	return ix, nil
}

// Write serialises the index as tabix does (BGZF-compressed) to w.
func (ix *Index) Write(w io.Writer) error {
	var b []byte
	le := binary.LittleEndian
	b = append(b, "TBI\x01"...)
	b = le.AppendUint32(b, uint32(len(ix.names)))
	c := ix.conf
	for _, v := range []int32{c.Format, c.SeqCol, c.BegCol, c.EndCol, int32(c.Meta), c.Skip} {
		b = le.AppendUint32(b, uint32(v))
	}
	var nm []byte
	for _, n := range ix.names {
		nm = append(append(nm, n...), 0)
	}
	b = le.AppendUint32(b, uint32(len(nm)))
	b = append(b, nm...)
	for _, ref := range ix.refs {
		keys := make([]uint32, 0, len(ref.bins))
		for k := range ref.bins {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		nb := len(keys)
		if ref.meta != nil {
			nb++
		}
		b = le.AppendUint32(b, uint32(nb))
		for _, k := range keys {
			b = le.AppendUint32(b, k)
			b = le.AppendUint32(b, uint32(len(ref.bins[k])))
			for _, ch := range ref.bins[k] {
				b = le.AppendUint64(b, uint64(ch.Begin))
				b = le.AppendUint64(b, uint64(ch.End))
			}
		}
		if ref.meta != nil {
			b = le.AppendUint32(b, metaBin)
			b = le.AppendUint32(b, uint32(len(ref.meta)))
			for _, ch := range ref.meta {
				b = le.AppendUint64(b, uint64(ch.Begin))
				b = le.AppendUint64(b, uint64(ch.End))
			}
		}
		b = le.AppendUint32(b, uint32(len(ref.linear)))
		for _, v := range ref.linear {
			b = le.AppendUint64(b, uint64(v))
		}
	}
	b = le.AppendUint64(b, ix.noCoor)
	zw, err := bgzf.NewWriter(w, bgzf.WithWriterWorkers(1), bgzf.WithLevel(6))
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	return zw.Close()
}

// WriteFile writes the index to path atomically (temp file + rename).
func (ix *Index) WriteFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = ix.Write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tabix: write %s: %w", path, err)
	}
	return nil
}

// LinearOffset returns the linear-index entry for the 16 kb window holding
// pos (0-based) of chrom: in a sorted file every record starting at or after
// pos lies at or after it. ok is false when chrom is unknown or no record
// of chrom reaches that window.
func (ix *Index) LinearOffset(chrom string, pos int64) (bgzf.VirtualOffset, bool) {
	tid, ok := ix.byName[chrom]
	if !ok {
		return 0, false
	}
	lin := ix.refs[tid].linear
	w := max(pos, 0) >> minShift
	if w >= int64(len(lin)) {
		return 0, false
	}
	return lin[w], true
}
