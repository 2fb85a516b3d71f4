package vartable

import (
	"encoding/binary"
	"errors"
	"math"
)

// Format 4 stores a run's rows in blocks of rowBlock rows, each row as
// the difference from the row before it in the block, in varints: most
// rows are on the line after the last one, of the previous row's
// chromosome a few bases on, with its terms and gene, and without
// warnings or a frequency, so a row takes about 12 bytes instead of
// format 3's 40. Each run's block table (a uint32 per block, from the
// run's records, and its end) says where a block starts, so reading a
// row reads its block alone.
const (
	rowBlock = 64
	// maxRowBytes bounds one encoded row.
	maxRowBytes = 64
)

// A row's first byte: its record flags (flagKnown … flagFirst) and these.
const (
	rowNewLine   = 1 << 4 // line offset, length, chromosome and position follow
	rowSameTerms = 1 << 5 // the previous row's terms
	rowSameGene  = 1 << 6 // the previous row's gene
	rowExtra     = 1 << 7 // a byte of extras follows: warnings, AF
)

// Extras.
const (
	extraWarn = 1 << iota
	extraAF
)

// rowEncoder holds the row before, which the next is encoded against:
// the builder fills next() in place, and appendRow encodes it.
type rowEncoder struct {
	rows    [2]record
	cur     int // rows[cur] is the row before
	started bool
}

// next is the record to fill for the next row.
func (e *rowEncoder) next() *record { return &e.rows[1-e.cur] }

// restart starts a block: the next row is encoded whole.
func (e *rowEncoder) restart() { e.started = false }

// appendRow encodes the next row into dst; it is then the row before.
func (e *rowEncoder) appendRow(dst []byte) []byte {
	r, p := &e.rows[1-e.cur], &e.rows[e.cur]
	dst = appendRow(dst, e.started, p, r)
	e.cur, e.started = 1-e.cur, true
	return dst
}

// appendRow encodes r after p (the row before, when started) into dst.
func appendRow(dst []byte, started bool, p, r *record) []byte {
	h := r.flags & 0x0f
	newLine := !started || r.offset != p.offset || r.length != p.length || r.pos != p.pos || r.chrom != p.chrom
	if newLine {
		h |= rowNewLine
	}
	if started && r.terms == p.terms {
		h |= rowSameTerms
	}
	if started && r.gene == p.gene {
		h |= rowSameGene
	}
	var x byte
	if r.warn != 0 {
		x |= extraWarn
	}
	if r.af == r.af {
		x |= extraAF
	}
	if x != 0 {
		h |= rowExtra
	}
	dst = append(dst, h)
	if newLine {
		if started {
			dst = svarint(dst, int64(r.offset-(p.offset+uint64(p.length)+1)))
			dst = svarint(dst, int64(r.pos)-int64(p.pos))
		} else {
			dst = uvarint(dst, r.offset)
			dst = uvarint(dst, uint64(r.pos))
		}
		dst = uvarint(dst, uint64(r.length))
		dst = uvarint(dst, uint64(r.chrom))
	}
	dst = uvarint(dst, uint64(r.allele))
	dst = uvarint(dst, uint64(r.ann))
	dst = append(dst, byte(r.impact))
	if h&rowSameTerms == 0 {
		dst = uvarint(dst, uint64(r.terms))
	}
	if h&rowSameGene == 0 {
		dst = uvarint(dst, uint64(r.gene))
	}
	if x != 0 {
		dst = append(dst, x)
		if x&extraWarn != 0 {
			dst = uvarint(dst, uint64(r.warn))
		}
		if x&extraAF != 0 {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(r.af))
		}
	}
	return dst
}

// uvarint appends v as binary.AppendUvarint does, a byte at once when it
// fits one (most of a row's numbers do).
func uvarint(dst []byte, v uint64) []byte {
	if v < 0x80 {
		return append(dst, byte(v))
	}
	return binary.AppendUvarint(dst, v)
}

// svarint appends v as binary.AppendVarint does (zigzag).
func svarint(dst []byte, v int64) []byte {
	return uvarint(dst, uint64(v<<1)^uint64(v>>63))
}

var errBlock = errors.New("undecodable row block")

// decodeBlock decodes the n rows of a block, which must fill b exactly.
func decodeBlock(b []byte, n int, out []record) ([]record, error) {
	d := rowDecoder{b: b}
	var prev record
	for i := range n {
		r, err := d.row(i > 0, &prev)
		if err != nil {
			return out, err
		}
		out, prev = append(out, r), r
	}
	if len(d.b) != 0 {
		return out, errBlock
	}
	return out, nil
}

// rowDecoder reads rows from b, failing on bytes appendRow cannot have
// written.
type rowDecoder struct {
	b   []byte
	err error
}

func (d *rowDecoder) uvarint(limit uint64) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > limit {
		d.err, d.b = errBlock, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errBlock, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) byte() byte {
	if len(d.b) == 0 {
		d.err = errBlock
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// row reads a row after p (the row before, when started), the inverse
// of appendRow.
func (d *rowDecoder) row(started bool, p *record) (record, error) {
	h := d.byte()
	r := record{flags: h & 0x0f, af: float32(math.NaN())}
	if !started && h&(rowSameTerms|rowSameGene) != 0 || !started && h&rowNewLine == 0 {
		return r, errBlock
	}
	if h&rowNewLine != 0 {
		if started {
			r.offset = p.offset + uint64(p.length) + 1 + uint64(d.varint())
			r.pos = uint32(int64(p.pos) + d.varint())
		} else {
			r.offset, r.pos = d.uvarint(math.MaxInt64), uint32(d.uvarint(math.MaxUint32))
		}
		r.length, r.chrom = uint32(d.uvarint(math.MaxUint32)), uint16(d.uvarint(math.MaxUint16))
	} else {
		r.offset, r.length, r.pos, r.chrom = p.offset, p.length, p.pos, p.chrom
	}
	r.allele, r.ann = uint16(d.uvarint(MaxLineRows)), uint16(d.uvarint(MaxLineRows))
	r.impact = Impact(d.byte())
	r.terms, r.gene = p.terms, p.gene
	if h&rowSameTerms == 0 {
		r.terms = uint32(d.uvarint(math.MaxUint32))
	}
	if h&rowSameGene == 0 {
		r.gene = uint32(d.uvarint(math.MaxUint32))
	}
	if h&rowExtra != 0 {
		x := d.byte()
		if x == 0 || x&^(extraWarn|extraAF) != 0 {
			return r, errBlock
		}
		if x&extraWarn != 0 {
			r.warn = uint32(d.uvarint(math.MaxUint32))
		}
		if x&extraAF != 0 {
			if len(d.b) < 4 {
				return r, errBlock
			}
			r.af = math.Float32frombits(binary.LittleEndian.Uint32(d.b))
			d.b = d.b[4:]
		}
	}
	return r, d.err
}
