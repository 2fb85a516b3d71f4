package bgzf

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// This file is the Reader's inflater. A BGZF block is a whole deflate
// stream of at most 64 KiB in memory with its inflated size known, so it
// can be decoded straight into the output slice with a 64-bit bit buffer
// and one-lookup Huffman tables: 1.4-1.6x as fast as klauspost/compress's
// flate or gzip reader and about 1.9x compress/flate's on the same blocks
// (BenchmarkCodecs, docs/benchmarks.md), which stream through an
// interface and copy through their window. RFC 1951; checked against
// compress/flate by a differential fuzz target: both accept exactly the
// same streams.

const (
	// numLitLen and numDist are the alphabet sizes deflate allows
	// (286 literal/length symbols with end-of-block, 30 distance codes).
	numLitLen = 286
	numDist   = 30
	numCL     = 19
	endBlock  = 256
)

// Deflate tables (RFC 1951 section 3.2.5).
var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order code-length code lengths are sent in.
	clOrder = [numCL]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	// fixedLitLen and fixedDLen are the code lengths of the fixed-Huffman
	// block type.
	fixedLitLen = func() (t [288]uint8) {
		for v := range t {
			switch {
			case v < 144:
				t[v] = 8
			case v < 256:
				t[v] = 9
			case v < 280:
				t[v] = 7
			default:
				t[v] = 8
			}
		}
		return t
	}()
	fixedDLen = [32]uint8{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
)

var errInflate = errors.New("invalid deflate data")

// decodeTable maps the next `bits` input bits (LSB first) to a symbol and
// its code length: entry = symbol<<4 | length; length 0 marks a bit pattern
// no code starts with.
type decodeTable struct {
	bits    uint
	entries []uint16
}

// build makes the table for code lengths lens. It rejects over-subscribed
// and incomplete codes, except a code of a single symbol of length 1 (as
// zlib and compress/flate allow).
func (t *decodeTable) build(lens []uint8) error {
	var count [16]int
	maxLen := 0
	for _, l := range lens {
		count[l]++
		maxLen = max(maxLen, int(l))
	}
	count[0] = 0
	if maxLen == 0 {
		t.bits = 0
		t.entries = t.entries[:0]
		return nil // no codes: any use of the table fails
	}
	left := 1
	for l := 1; l <= 15; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return errInflate // over-subscribed
		}
	}
	if left > 0 && !(maxLen == 1 && count[1] == 1) {
		return errInflate // incomplete
	}
	var next [16]int
	code := 0
	for l := 1; l <= 15; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	size := 1 << maxLen
	if cap(t.entries) < size {
		t.entries = make([]uint16, size)
	}
	t.entries = t.entries[:size]
	clear(t.entries)
	t.bits = uint(maxLen)
	for s, l := range lens {
		if l == 0 {
			continue
		}
		r := int(bits.Reverse16(uint16(next[l])) >> (16 - l))
		next[l]++
		e := uint16(s)<<4 | uint16(l)
		for k := r; k < size; k += 1 << l {
			t.entries[k] = e
		}
	}
	return nil
}

// bitReader reads LSB-first bits from a byte slice. Past the end it reads
// zeros but counts them, so overrun is detected once, at the end.
type bitReader struct {
	src  []byte
	pos  int // next byte of src to load
	acc  uint64
	n    uint // valid bits in acc
	over int  // zero bytes loaded past the end
}

// refill tops acc up to at least 56 bits. The fast path loads 8 bytes but
// counts only the whole ones that fit; the bits of the next byte above n
// are that byte's own low bits, so loading it again later ORs in the same
// bits.
func (r *bitReader) refill() {
	if r.pos+8 <= len(r.src) {
		r.acc |= binary.LittleEndian.Uint64(r.src[r.pos:]) << r.n
		k := (63 - r.n) >> 3
		r.pos += int(k)
		r.n += k << 3
		return
	}
	for r.n <= 56 {
		if r.pos < len(r.src) {
			r.acc |= uint64(r.src[r.pos]) << r.n
			r.pos++
		} else {
			r.over++
		}
		r.n += 8
	}
}

// need makes sure n (<= 56) bits are buffered.
func (r *bitReader) need(n uint) {
	if r.n < n {
		r.refill()
	}
}

func (r *bitReader) take(n uint) uint32 {
	r.need(n)
	v := uint32(r.acc & (1<<n - 1))
	r.acc >>= n
	r.n -= n
	return v
}

// overrun reports whether more bits were consumed than the input holds.
func (r *bitReader) overrun() bool { return r.over > 0 && int(r.n) < 8*r.over }

// decode reads one symbol with t.
func (r *bitReader) decode(t *decodeTable) (int, error) {
	if t.bits == 0 {
		return 0, errInflate
	}
	r.need(t.bits)
	e := t.entries[r.acc&(1<<t.bits-1)]
	l := uint(e & 15)
	if l == 0 {
		return 0, errInflate
	}
	r.acc >>= l
	r.n -= l
	return int(e >> 4), nil
}

// inflater keeps its tables between blocks; not safe for concurrent use.
type inflater struct {
	lit, dist, cl decodeTable
	lens          [numLitLen + 2 + 32]uint8
}

// fixedLit and fixedDist are the fixed-Huffman block tables.
var fixedLit, fixedDist = func() (l, d decodeTable) {
	if err := l.build(fixedLitLen[:]); err != nil {
		panic(err)
	}
	if err := d.build(fixedDLen[:]); err != nil {
		panic(err)
	}
	return l, d
}()

// inflate decodes the raw deflate stream src into dst[:0], which must have
// the capacity of the expected output; output beyond cap(dst) is an error.
// Data after the final block is ignored, as compress/flate does.
func (f *inflater) inflate(dst, src []byte) ([]byte, error) {
	r := bitReader{src: src}
	out := dst[:0]
	for {
		final := r.take(1)
		switch r.take(2) {
		case 0: // stored
			r.acc >>= r.n & 7
			r.n -= r.n & 7
			hdr := r.take(32)
			n := int(hdr & 0xffff)
			if n != int(^hdr>>16&0xffff) {
				return nil, errInflate
			}
			// copy what is still buffered, then the rest of src
			for n > 0 && r.n >= 8 {
				if len(out) == cap(out) {
					return nil, errInflate
				}
				out = append(out, byte(r.acc))
				r.acc >>= 8
				r.n -= 8
				n--
			}
			if r.overrun() || n > len(src)-r.pos || n > cap(out)-len(out) {
				return nil, errInflate
			}
			out = append(out, src[r.pos:r.pos+n]...)
			r.pos += n
			// acc may hold bits of src[old pos] above r.n (see refill);
			// they no longer belong to the next byte
			r.acc &= 1<<r.n - 1
		case 1:
			var err error
			if out, err = f.codes(&r, out, &fixedLit, &fixedDist); err != nil {
				return nil, err
			}
		case 2:
			if err := f.dynamicTables(&r); err != nil {
				return nil, err
			}
			var err error
			if out, err = f.codes(&r, out, &f.lit, &f.dist); err != nil {
				return nil, err
			}
		default:
			return nil, errInflate
		}
		if r.overrun() {
			return nil, errInflate
		}
		if final == 1 {
			return out, nil
		}
	}
}

// dynamicTables reads a dynamic block's code-length header.
func (f *inflater) dynamicTables(r *bitReader) error {
	nl := int(r.take(5)) + 257
	nd := int(r.take(5)) + 1
	ncl := int(r.take(4)) + 4
	if nl > numLitLen || nd > numDist {
		return errInflate // compress/flate rejects 286+ and 30+ here too
	}
	var cll [numCL]uint8
	for i := 0; i < ncl; i++ {
		cll[clOrder[i]] = uint8(r.take(3))
	}
	if err := f.cl.build(cll[:]); err != nil {
		return err
	}
	lens := f.lens[:nl+nd]
	for i := 0; i < len(lens); {
		sym, err := r.decode(&f.cl)
		if err != nil {
			return err
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			v, rep = lens[i-1], 3+int(r.take(2))
		case 17:
			rep = 3 + int(r.take(3))
		default:
			rep = 11 + int(r.take(7))
		}
		if i+rep > len(lens) {
			return errInflate
		}
		for ; rep > 0; rep-- {
			lens[i] = v
			i++
		}
	}
	if lens[endBlock] == 0 {
		return errInflate // no end-of-block code
	}
	if err := f.lit.build(lens[:nl]); err != nil {
		return err
	}
	return f.dist.build(lens[nl:])
}

// codes decodes literal/length and distance symbols until end of block.
// One refill per symbol suffices: a length code with its extra bits and a
// distance code with its extra bits take at most 15+5+15+13 = 48 bits.
func (f *inflater) codes(r *bitReader, out []byte, lit, dist *decodeTable) ([]byte, error) {
	if lit.bits == 0 {
		return nil, errInflate
	}
	lents, lmask := lit.entries, uint64(1)<<lit.bits-1
	dents, dmask := dist.entries, uint64(1)<<dist.bits-1
	for {
		if r.n < 48 {
			r.refill()
		}
		e := lents[r.acc&lmask]
		l := uint(e & 15)
		if l == 0 {
			return nil, errInflate
		}
		r.acc >>= l
		r.n -= l
		sym := int(e >> 4)
		if sym < 256 {
			if len(out) == cap(out) {
				return nil, errInflate
			}
			out = append(out, byte(sym))
			continue
		}
		if sym == endBlock {
			return out, nil
		}
		sym -= 257
		if sym >= 29 || len(dents) == 0 {
			return nil, errInflate
		}
		eb := uint(lenExtra[sym])
		length := int(lenBase[sym]) + int(r.acc&(1<<eb-1))
		r.acc >>= eb
		r.n -= eb
		e = dents[r.acc&dmask]
		l = uint(e & 15)
		ds := int(e >> 4)
		if l == 0 || ds >= numDist {
			return nil, errInflate
		}
		r.acc >>= l
		r.n -= l
		eb = uint(distExtra[ds])
		d := int(distBase[ds]) + int(r.acc&(1<<eb-1))
		r.acc >>= eb
		r.n -= eb
		if d > len(out) || length > cap(out)-len(out) || r.overrun() {
			return nil, errInflate
		}
		start := len(out) - d
		if d >= length {
			out = append(out, out[start:start+length]...)
			continue
		}
		// overlapping copy: repeat the last d bytes
		for length > 0 {
			k := min(length, len(out)-start)
			out = append(out, out[start:start+k]...)
			length -= k
		}
	}
}
