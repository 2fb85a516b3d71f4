// Package bgzf reads and writes BGZF, the blocked gzip format of the SAM/BAM
// specification (SAMv1, section 4.1) that bgzip, tabix and every htslib tool
// use. A BGZF file is a series of gzip members of at most 64 KiB each, so it
// is a valid gzip file for any reader, and it can be inflated in parallel and
// entered at any block through a virtual offset — which is why variant files
// are shipped in it and why GAS reads and writes it natively.
package bgzf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Format constants from the SAMv1 specification.
const (
	// MaxBlockSize is the largest a BGZF block may be, compressed or not.
	MaxBlockSize = 65536
	// BlockDataSize is how many uncompressed bytes the writer puts in one
	// block; htslib uses the same 0xff00 so that even incompressible data
	// fits a block after deflate's stored-block overhead.
	BlockDataSize = 0xff00
	headerSize    = 18 // gzip header with the 6-byte BC extra subfield
	trailerSize   = 8  // CRC32 + ISIZE
)

// eofBlock is the empty block every BGZF file ends with; its presence tells
// a reader the file was not cut short at a block boundary.
var eofBlock = []byte{
	0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00,
	0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
}

// EOFBlock returns a copy of the standard 28-byte BGZF end-of-file block.
func EOFBlock() []byte { return append([]byte(nil), eofBlock...) }

// Sentinel errors; every error this package returns about the data wraps
// one of them so callers can tell a damaged file from an I/O failure.
var (
	// ErrCorrupt: a block is not valid BGZF (bad header, bad CRC, wrong
	// size, inflate failure).
	ErrCorrupt = errors.New("bgzf: corrupt data")
	// ErrTruncated: the stream ended inside a block.
	ErrTruncated = errors.New("bgzf: truncated stream")
	// ErrNotSeekable: Seek was called on a reader that cannot seek.
	ErrNotSeekable = errors.New("bgzf: underlying reader cannot seek")
)

// VirtualOffset addresses a byte of the uncompressed stream as the file
// offset of its block (upper 48 bits) and the offset within the inflated
// block (lower 16 bits); tabix indexes are lists of these.
type VirtualOffset uint64

// MakeVirtualOffset builds a virtual offset from a block's file offset and a
// position inside its inflated data.
func MakeVirtualOffset(blockOffset int64, within int) VirtualOffset {
	return VirtualOffset(uint64(blockOffset)<<16 | uint64(within&0xffff))
}

// BlockOffset is the file offset of the block holding the addressed byte.
func (v VirtualOffset) BlockOffset() int64 { return int64(uint64(v) >> 16) }

// Within is the position of the addressed byte inside its inflated block.
func (v VirtualOffset) Within() int { return int(uint64(v) & 0xffff) }

// String prints the offset as block:within, the way htslib tools do.
func (v VirtualOffset) String() string {
	return fmt.Sprintf("%d:%d", v.BlockOffset(), v.Within())
}

// IsBGZFHeader reports whether b starts with a BGZF block header (a gzip
// header carrying the BC extra subfield). It needs at least 18 bytes.
func IsBGZFHeader(b []byte) bool {
	_, _, err := parseHeader(b)
	return err == nil
}

// parseHeader checks a block's gzip header and returns the header length
// and the total block size (BSIZE+1).
func parseHeader(b []byte) (hdrLen, blockSize int, err error) {
	if len(b) < 12 {
		return 0, 0, fmt.Errorf("short header: %w", ErrCorrupt)
	}
	if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		return 0, 0, fmt.Errorf("not a gzip member: %w", ErrCorrupt)
	}
	if b[3] != 4 { // FEXTRA only; htslib requires the same
		return 0, 0, fmt.Errorf("gzip member without the BGZF extra field (flags %#x): %w", b[3], ErrCorrupt)
	}
	xlen := int(binary.LittleEndian.Uint16(b[10:12]))
	if len(b) < 12+xlen {
		return 0, 0, fmt.Errorf("short extra field: %w", ErrCorrupt)
	}
	extra := b[12 : 12+xlen]
	for len(extra) >= 4 {
		slen := int(binary.LittleEndian.Uint16(extra[2:4]))
		if len(extra) < 4+slen {
			break
		}
		if extra[0] == 'B' && extra[1] == 'C' && slen == 2 {
			bs := int(binary.LittleEndian.Uint16(extra[4:6])) + 1
			if bs < 12+xlen+trailerSize {
				return 0, 0, fmt.Errorf("block size %d too small: %w", bs, ErrCorrupt)
			}
			return 12 + xlen, bs, nil
		}
		extra = extra[4+slen:]
	}
	return 0, 0, fmt.Errorf("gzip member without the BGZF BC subfield: %w", ErrCorrupt)
}
