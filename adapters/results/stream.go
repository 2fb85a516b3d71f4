package results

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// errStored ends a stream whose consumer is done, so a producer never
// blocks on a reader that has gone.
var errStored = errors.New("upload finished")

// stage runs f in a goroutine; its error arrives on the channel.
func stage(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// streamDepth is how many chunks a writer (the engine, the index builder)
// may run ahead of the store it feeds: each works at its own pace within
// a few megabytes instead of in lockstep with the other.
const streamDepth = 16

// upload stores what is written to w at key as it comes, through a
// bounded queue of chunks.
type upload struct {
	w    *fanout
	done <-chan error
	// failed is set when the store failed before w was closed: then it
	// failed on its own, and whoever was writing only heard of it.
	failed atomic.Bool
}

func (a *Annotator) upload(ctx context.Context, key string) *upload {
	w := newFanout(1, streamDepth)
	u := &upload{w: w}
	u.done = stage(func() error {
		_, err := a.objects.Put(ctx, key, w.readers[0])
		if err != nil {
			u.failed.Store(true)
		}
		w.readers[0].done(errOr(err, errStored))
		return err
	})
	return u
}

// stream runs the engine on in, storing its output and the index built
// from the rows it hands over as they are produced: the engine, the index
// builder and the two uploads each run in their own goroutine.
func (a *Annotator) stream(ctx context.Context, eng Engine, in io.Reader, req ports.AnnotationRequest, clock *timer) (domain.Summary, error) {
	vcf, idx := a.upload(ctx, req.Keys.VCF), a.upload(ctx, req.Keys.Index)
	b := vartable.NewBuilder(idx.w, a.opt.Index)
	defer b.Close()
	sum, annErr := eng.AnnotateJob(ctx, in, vcf.w, engine.Job{SkipMalformed: req.Options.SkipMalformed, Table: b})
	clock.done("read, annotate and write the VCF")
	// The VCF is complete (or failed) now: its upload makes its last
	// megabytes durable while the index is finished.
	vcfFailed := vcf.failed.Load()
	vcf.w.close(annErr) // nil: the upload reads EOF after a complete VCF
	var idxErr error
	if annErr == nil {
		idxErr = b.Finish()
		clock.done("finish the variant index")
	}
	idxFailed := idx.failed.Load()
	idx.w.close(errors.Join(annErr, idxErr))
	stored, indexed := <-vcf.done, <-idx.done
	clock.done("store the VCF and index")
	switch {
	case errors.Is(annErr, ports.ErrBadInput):
		return sum, annErr // its message is for the user: keep it as the engine wrote it
	case errors.Is(annErr, vartable.ErrLineTooLarge):
		return sum, fmt.Errorf("%w: %w", ports.ErrBadInput, errors.Unwrap(annErr))
	case vcfFailed:
		return sum, fmt.Errorf("store result: %w", stored)
	case idxFailed:
		return sum, fmt.Errorf("store index: %w", indexed)
	case annErr != nil:
		return sum, fmt.Errorf("annotate: %w", annErr)
	case idxErr != nil:
		return sum, fmt.Errorf("index result: %w", idxErr)
	case stored != nil: // failed after the last write was queued
		return sum, fmt.Errorf("store result: %w", stored)
	case indexed != nil:
		return sum, fmt.Errorf("store index: %w", indexed)
	}
	return sum, nil
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// fanout is an io.Writer that copies each write once into a chunk every
// reader gets, each through its own bounded queue. A write fails, stopping
// the writer, as soon as any reader has given up before the end (a failed
// store).
type fanout struct {
	readers []*chunkReader
}

func newFanout(n, depth int) *fanout {
	f := &fanout{}
	for range n {
		f.readers = append(f.readers, &chunkReader{ch: make(chan []byte, depth), quit: make(chan struct{}), free: make(chan []byte, depth), alone: n == 1})
	}
	return f
}

func (f *fanout) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := append(f.buffer(len(p)), p...) // the writer reuses p; readers share c
	for _, r := range f.readers {
		select {
		case r.ch <- c:
		case <-r.quit:
			return 0, r.reason
		}
	}
	return len(p), nil
}

var _ engine.BufferTaker = (*fanout)(nil)

// Take queues p itself as a chunk (the engine hands over its batches'
// buffers: engine.BufferTaker) and returns one the only reader has
// finished with, for the engine's next batch.
func (f *fanout) Take(p []byte) ([]byte, error) {
	if len(f.readers) != 1 {
		_, err := f.Write(p)
		return p, err
	}
	r := f.readers[0]
	select {
	case r.ch <- p:
	case <-r.quit:
		return nil, r.reason
	}
	select {
	case b := <-r.free:
		return b, nil
	default:
		return nil, nil
	}
}

// buffer is an empty chunk buffer of at least n bytes: one its only
// reader has finished with, or a new one. Recycling saves allocating (and
// collecting) the whole stream once more in pieces.
func (f *fanout) buffer(n int) []byte {
	if len(f.readers) == 1 {
		select {
		case b := <-f.readers[0].free:
			if cap(b) >= n {
				return b[:0]
			}
		default:
		}
	}
	return make([]byte, 0, n)
}

// close ends the stream: readers see err after the last chunk (io.EOF when
// err is nil).
func (f *fanout) close(err error) {
	for _, r := range f.readers {
		r.end = errOr(err, io.EOF)
		close(r.ch)
	}
}

// chunkReader is one consumer's side of a fanout.
type chunkReader struct {
	ch     chan []byte
	cur    []byte
	last   []byte      // the chunk cur is the rest of
	free   chan []byte // chunks read to the end, for the writer to reuse (as many as the queue holds: none is dropped)
	alone  bool        // the only reader, so a chunk read is free
	end    error       // set by close before ch is closed
	quit   chan struct{}
	reason error // why the reader gave up; set before quit is closed
	gone   bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.alone && r.last != nil {
			select {
			case r.free <- r.last:
			default:
			}
			r.last = nil
		}
		c, ok := <-r.ch
		if !ok {
			return 0, r.end
		}
		r.cur, r.last = c, c
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// WriteTo hands w the chunks as they come (io.Copy uses it), instead of
// copying each into a reader's buffer first.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if len(r.cur) == 0 {
			if _, err := r.Read(nil); err != nil { // next chunk, recycling the last
				if err == io.EOF {
					err = nil
				}
				return n, err
			}
		}
		m, err := w.Write(r.cur)
		n += int64(m)
		r.cur = r.cur[m:]
		if err != nil {
			return n, err
		}
	}
}

// done tells the writer this reader reads no more; writes then fail with
// reason. Called once, by the reader's own goroutine.
func (r *chunkReader) done(reason error) {
	if r.gone {
		return
	}
	r.gone, r.reason = true, reason
	close(r.quit)
}
