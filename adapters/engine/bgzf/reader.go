package bgzf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// DefaultWorkers is how many goroutines inflate (or deflate) blocks in
// parallel unless told otherwise: enough to use the cores of a small worker
// without letting one stream take over a big machine.
func DefaultWorkers() int {
	n := runtime.GOMAXPROCS(0)
	if n > 4 {
		n = 4
	}
	return n
}

// ErrLineTooLong is returned by ReadLine when a line grows past the limit
// set with WithMaxLine, so a file without newlines cannot exhaust memory.
var ErrLineTooLong = errors.New("bgzf: line too long")

// Reader inflates a BGZF stream. With more than one worker it reads blocks
// ahead and inflates them concurrently (at most a few blocks per worker in
// memory); with one it inflates in the caller's goroutine. It can Seek to a
// virtual offset when the underlying reader is an io.Seeker.
type Reader struct {
	src     io.Reader
	workers int
	maxLine int

	inf       *inflater // for synchronous mode
	rawBuf    []byte
	data      []byte  // current inflated block
	dataRef   *[]byte // pooled buffer behind data, returned on release
	pos       int
	loaded    bool  // a block is loaded at blockOff
	blockOff  int64 // file offset of the current block
	blockLen  int   // compressed size of the current block
	nextOff   int64 // file offset of the next block
	lastEmpty bool  // the last block read had no data: an EOF marker
	err       error

	pipe *pipeline
	line []byte
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithWorkers sets how many goroutines inflate blocks; 1 (or less) inflates
// synchronously, which is what random access wants.
func WithWorkers(n int) ReaderOption {
	return func(r *Reader) {
		if n < 1 {
			n = 1
		}
		r.workers = n
	}
}

// WithMaxLine bounds the length of a line returned by ReadLine (default
// 64 MiB); 0 removes the bound.
func WithMaxLine(n int) ReaderOption { return func(r *Reader) { r.maxLine = n } }

// NewReader returns a Reader over src positioned at offset 0 of src. It does
// not read until the first call. Close it to stop its goroutines; it never
// closes src.
func NewReader(src io.Reader, opts ...ReaderOption) *Reader {
	r := &Reader{src: src, workers: DefaultWorkers(), maxLine: 64 << 20}
	for _, o := range opts {
		o(r)
	}
	return r
}

var dataPool = sync.Pool{New: func() any { b := make([]byte, MaxBlockSize); return &b }}
var rawPool = sync.Pool{New: func() any { b := make([]byte, MaxBlockSize); return &b }}

// readRawBlock reads one whole compressed block at file offset off into buf.
// It returns io.EOF only at a clean block boundary.
func readRawBlock(src io.Reader, buf []byte, off int64) ([]byte, error) {
	buf = buf[:MaxBlockSize]
	n, err := io.ReadFull(src, buf[:12])
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("block at offset %d: stream ends after %d header bytes: %w", off, n, ErrTruncated)
		}
		return nil, err
	}
	xlen := int(binary.LittleEndian.Uint16(buf[10:12]))
	if 12+xlen > MaxBlockSize {
		return nil, fmt.Errorf("block at offset %d: extra field too long: %w", off, ErrCorrupt)
	}
	if buf[0] != 0x1f || buf[1] != 0x8b {
		return nil, fmt.Errorf("block at offset %d: not a gzip member: %w", off, ErrCorrupt)
	}
	if _, err := io.ReadFull(src, buf[12:12+xlen]); err != nil {
		return nil, truncErr(err, off)
	}
	_, bs, err := parseHeader(buf[:12+xlen])
	if err != nil {
		return nil, fmt.Errorf("block at offset %d: %w", off, err)
	}
	if m, err := io.ReadFull(src, buf[12+xlen:bs]); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, fmt.Errorf("block at offset %d: stream ends after %d of its %d bytes: %w", off, 12+xlen+m, bs, ErrTruncated)
		}
		return nil, err
	}
	return buf[:bs], nil
}

func truncErr(err error, off int64) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("block at offset %d: stream ends inside the header: %w", off, ErrTruncated)
	}
	return err
}

// inflater decompresses the deflate data of one block with
// klauspost/compress's flate reader, reset for every block; one per
// goroutine.
type inflater struct {
	br bytes.Reader
	fr io.ReadCloser
}

// inflate decompresses src into the capacity of dst (the block's ISIZE)
// and returns what it holds; data beyond that capacity is an error.
func (f *inflater) inflate(dst, src []byte) ([]byte, error) {
	f.br.Reset(src)
	if f.fr == nil {
		f.fr = flate.NewReader(&f.br)
	} else if err := f.fr.(flate.Resetter).Reset(&f.br, nil); err != nil {
		return nil, err
	}
	out := dst[:cap(dst)]
	for n := 0; ; {
		m, err := f.fr.Read(out[n:])
		n += m
		if err == io.EOF {
			return out[:n], nil
		}
		if err != nil {
			return nil, err
		}
		if n == len(out) {
			break
		}
	}
	// the block is full: its stream must end here
	var one [1]byte
	for {
		m, err := f.fr.Read(one[:])
		if m > 0 {
			return nil, errors.New("more data than ISIZE")
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// inflateBlock inflates raw into out (capacity MaxBlockSize) and checks the
// CRC32 and ISIZE of the block.
func inflateBlock(raw, out []byte, inf *inflater, off int64) ([]byte, error) {
	hdr, _, err := parseHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("block at offset %d: %w", off, err)
	}
	n := len(raw)
	crc := binary.LittleEndian.Uint32(raw[n-8:])
	isize := int(binary.LittleEndian.Uint32(raw[n-4:]))
	if isize > MaxBlockSize {
		return nil, fmt.Errorf("block at offset %d: inflated size %d over 64 KiB: %w", off, isize, ErrCorrupt)
	}
	out, err = inf.inflate(out[:0:isize], raw[hdr:n-8])
	if err != nil {
		return nil, fmt.Errorf("block at offset %d: inflate: %v: %w", off, err, ErrCorrupt)
	}
	if len(out) != isize {
		return nil, fmt.Errorf("block at offset %d: inflated %d bytes, ISIZE says %d: %w", off, len(out), isize, ErrCorrupt)
	}
	if crc32.ChecksumIEEE(out) != crc {
		return nil, fmt.Errorf("block at offset %d: CRC32 mismatch: %w", off, ErrCorrupt)
	}
	return out, nil
}

// pipeline reads raw blocks in one goroutine and inflates them in several,
// handing them back in file order.
type pipeline struct {
	order chan *pblock
	quit  chan struct{}
	done  sync.WaitGroup
}

type pblock struct {
	off  int64
	size int
	raw  *[]byte
	data *[]byte
	out  []byte
	err  error
	done chan struct{}
}

func startPipeline(src io.Reader, off int64, workers int) *pipeline {
	p := &pipeline{order: make(chan *pblock, 2*workers), quit: make(chan struct{})}
	work := make(chan *pblock, workers)
	for i := 0; i < workers; i++ {
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			inf := new(inflater)
			for b := range work {
				b.data = dataPool.Get().(*[]byte)
				b.out, b.err = inflateBlock((*b.raw)[:b.size], *b.data, inf, b.off)
				rawPool.Put(b.raw)
				b.raw = nil
				close(b.done)
			}
		}()
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		defer close(p.order)
		defer close(work)
		for {
			rb := rawPool.Get().(*[]byte)
			raw, err := readRawBlock(src, *rb, off)
			b := &pblock{off: off, done: make(chan struct{})}
			if err != nil {
				rawPool.Put(rb)
				b.err = err
				close(b.done)
				select {
				case p.order <- b:
				case <-p.quit:
				}
				return
			}
			b.raw, b.size = rb, len(raw)
			off += int64(len(raw))
			select {
			case p.order <- b:
			case <-p.quit:
				return
			}
			select {
			case work <- b:
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

// stop tells the goroutines to finish. With wait it also waits for them,
// which Seek needs before touching the source; Close does not wait, since
// the reader goroutine may be blocked reading a slow network source — it
// exits when that read returns.
func (p *pipeline) stop(wait bool) {
	close(p.quit)
	// Drain so blocked senders see quit promptly; workers finish their
	// current block and exit when work is closed.
	go func() {
		for range p.order {
		}
	}()
	if wait {
		p.done.Wait()
	}
}

// nextBlock loads the block after the current one.
func (r *Reader) nextBlock() {
	if r.err != nil {
		return
	}
	r.release()
	if r.workers > 1 {
		if r.pipe == nil {
			r.pipe = startPipeline(r.src, r.nextOff, r.workers)
		}
		b, ok := <-r.pipe.order
		if !ok {
			r.err = io.ErrClosedPipe
			return
		}
		<-b.done
		if b.err != nil {
			r.err = b.err
			if b.data != nil {
				dataPool.Put(b.data)
			}
			r.blockOff, r.blockLen, r.loaded = b.off, 0, false
			return
		}
		rawLen := b.size
		r.data, r.dataRef, r.pos = b.out, b.data, 0
		r.blockOff, r.blockLen, r.loaded = b.off, rawLen, true
		r.nextOff = b.off + int64(rawLen)
		r.lastEmpty = len(r.data) == 0
		return
	}
	if r.inf == nil {
		r.inf = new(inflater)
		r.rawBuf = make([]byte, MaxBlockSize)
	}
	raw, err := readRawBlock(r.src, r.rawBuf, r.nextOff)
	if err != nil {
		r.err = err
		r.blockOff, r.blockLen, r.loaded = r.nextOff, 0, false
		return
	}
	dp := dataPool.Get().(*[]byte)
	out, err := inflateBlock(raw, *dp, r.inf, r.nextOff)
	if err != nil {
		dataPool.Put(dp)
		r.err = err
		return
	}
	r.data, r.dataRef, r.pos = out, dp, 0
	r.blockOff, r.blockLen, r.loaded = r.nextOff, len(raw), true
	r.nextOff += int64(len(raw))
	r.lastEmpty = len(out) == 0
}

// release returns the current block's buffer to the pool.
func (r *Reader) release() {
	if r.dataRef != nil {
		dataPool.Put(r.dataRef)
		r.dataRef = nil
	}
	r.data, r.pos = nil, 0
}

// Read implements io.Reader over the inflated stream. It returns io.EOF at
// the end of the last block, whether or not the EOF marker was present; ask
// EOFMarker to tell a complete file from one cut at a block boundary.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.pos >= len(r.data) {
		if r.err != nil {
			return 0, r.err
		}
		r.nextBlock()
	}
	n := copy(p, r.data[r.pos:])
	r.pos += n
	return n, nil
}

// EOFMarker reports whether the last block read was an empty block, as the
// standard EOF marker is. After Read returned io.EOF, false means the file
// was probably truncated at a block boundary.
func (r *Reader) EOFMarker() bool { return r.lastEmpty }

// VirtualOffset is the virtual offset of the next byte Read would return;
// at the end of a block it names the start of the next block, as htslib
// does, so offsets recorded while reading match bgzip/tabix ones.
func (r *Reader) VirtualOffset() VirtualOffset {
	if r.loaded && r.pos < len(r.data) {
		return MakeVirtualOffset(r.blockOff, r.pos)
	}
	return MakeVirtualOffset(r.nextOff, 0)
}

// Seek positions the reader at virtual offset v. The underlying reader must
// be an io.Seeker; a parallel reader becomes synchronous from then on,
// since random access reads few blocks at a time.
func (r *Reader) Seek(v VirtualOffset) error {
	rs, ok := r.src.(io.Seeker)
	if !ok {
		return ErrNotSeekable
	}
	if r.pipe != nil {
		r.pipe.stop(true)
		r.pipe = nil
	}
	r.workers = 1
	if r.loaded && r.blockOff == v.BlockOffset() && r.dataRef != nil {
		if v.Within() > len(r.data) {
			return fmt.Errorf("seek to %s: block holds only %d bytes: %w", v, len(r.data), ErrCorrupt)
		}
		r.pos, r.err = v.Within(), nil
		return nil
	}
	r.release()
	r.loaded = false
	if _, err := rs.Seek(v.BlockOffset(), io.SeekStart); err != nil {
		return fmt.Errorf("seek to %s: %w", v, err)
	}
	r.err, r.nextOff = nil, v.BlockOffset()
	r.nextBlock()
	if r.err != nil {
		if r.err == io.EOF && v.Within() == 0 {
			return nil
		}
		return fmt.Errorf("seek to %s: %w", v, r.err)
	}
	if v.Within() > len(r.data) {
		return fmt.Errorf("seek to %s: block holds only %d bytes: %w", v, len(r.data), ErrCorrupt)
	}
	r.pos = v.Within()
	return nil
}

// ReadLine returns the next line without its newline and the virtual offset
// where it starts. The slice is valid until the next call. The last line
// may lack a newline; after it ReadLine returns io.EOF.
func (r *Reader) ReadLine() (line []byte, start VirtualOffset, err error) {
	for r.pos >= len(r.data) {
		if r.err != nil {
			return nil, r.VirtualOffset(), r.err
		}
		r.nextBlock()
	}
	start = r.VirtualOffset()
	if i := bytes.IndexByte(r.data[r.pos:], '\n'); i >= 0 {
		line = r.data[r.pos : r.pos+i]
		r.pos += i + 1
		return line, start, nil
	}
	r.line = append(r.line[:0], r.data[r.pos:]...)
	r.pos = len(r.data)
	for {
		if r.maxLine > 0 && len(r.line) > r.maxLine {
			return nil, start, fmt.Errorf("line at %s longer than %d bytes: %w", start, r.maxLine, ErrLineTooLong)
		}
		for r.pos >= len(r.data) {
			if r.err != nil {
				if r.err == io.EOF {
					return r.line, start, nil
				}
				return nil, start, r.err
			}
			r.nextBlock()
		}
		if i := bytes.IndexByte(r.data[r.pos:], '\n'); i >= 0 {
			r.line = append(r.line, r.data[r.pos:r.pos+i]...)
			r.pos += i + 1
			return r.line, start, nil
		}
		r.line = append(r.line, r.data[r.pos:]...)
		r.pos = len(r.data)
	}
}

// Close stops the read-ahead goroutines. It does not close the underlying
// reader, which the caller owns.
func (r *Reader) Close() error {
	if r.pipe != nil {
		r.pipe.stop(false)
		r.pipe = nil
	}
	r.release()
	if r.err == nil {
		r.err = errors.New("bgzf: read after Close")
	}
	return nil
}
