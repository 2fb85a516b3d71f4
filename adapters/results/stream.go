package results

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Sentinels that end a stream's other side once its consumer is done, so
// a producer never blocks on a reader that has gone.
var (
	errStored  = errors.New("upload finished")
	errIndexed = errors.New("indexer finished")
)

// stage runs f in a goroutine; its error arrives on the channel.
func stage(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// streamDepth is how many chunks of the engine's output a consumer (the
// store, the indexer) may lag behind: each works at its own pace within a
// few megabytes instead of in lockstep with the others.
const streamDepth = 16

// stream runs the engine on in and stores its output, and the index built
// from it, under keys as it is produced: the engine, the store and the
// indexer each run in their own goroutine, fed chunk by chunk.
func (a *Annotator) stream(ctx context.Context, in io.Reader, keys domain.ResultKeys) (domain.Summary, error) {
	n := 1
	if a.indexer != nil {
		n = 2
	}
	out := newFanout(n, streamDepth)
	stored := stage(func() error {
		_, err := a.objects.Put(ctx, keys.VCF, out.readers[0])
		out.readers[0].done(errOr(err, errStored))
		return err
	})
	indexed := stage(func() error { return nil })
	if a.indexer != nil {
		indexed = stage(func() error { return a.index(ctx, out.readers[1], keys.Index) })
	}
	sum, annErr := a.engine.Annotate(ctx, in, out)
	out.close(annErr)
	storeErr, indexErr := <-stored, <-indexed
	switch {
	case errors.Is(annErr, ports.ErrBadInput):
		return sum, annErr // its message is for the user: keep it as the engine wrote it
	case annErr != nil && !errors.Is(annErr, errStored) && !errors.Is(annErr, errIndexed):
		return sum, fmt.Errorf("annotate: %w", annErr)
	case storeErr != nil && (indexErr == nil || errors.Is(indexErr, storeErr)):
		return sum, fmt.Errorf("store result: %w", storeErr) // the indexer, if it failed, only heard of it
	}
	return sum, indexErr // a failed indexer also fails the upload it was fed with
}

// index builds the variant index from vcf and stores it at key, reading
// vcf to its end.
func (a *Annotator) index(ctx context.Context, vcf *chunkReader, key string) error {
	idx, out := io.Pipe()
	put := stage(func() error {
		_, err := a.objects.Put(ctx, key, idx)
		idx.CloseWithError(errOr(err, errStored))
		return err
	})
	err := a.indexer.Index(ctx, vcf, out)
	if err == nil {
		_, err = io.Copy(io.Discard, vcf)
	}
	vcf.done(errOr(err, errIndexed))
	out.CloseWithError(err)
	putErr := <-put
	switch {
	case err != nil:
		return fmt.Errorf("index result: %w", err)
	case putErr != nil:
		return fmt.Errorf("store index: %w", putErr)
	}
	return nil
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// fanout is the engine's output: an io.Writer that copies each write once
// into a chunk every reader gets, each through its own bounded queue. A
// write fails, stopping the engine, as soon as any reader has given up
// before the end (a failed store or indexer).
type fanout struct {
	readers []*chunkReader
}

func newFanout(n, depth int) *fanout {
	f := &fanout{}
	for range n {
		f.readers = append(f.readers, &chunkReader{ch: make(chan []byte, depth), quit: make(chan struct{})})
	}
	return f
}

func (f *fanout) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := append([]byte(nil), p...) // the writer reuses p; readers share c
	for _, r := range f.readers {
		select {
		case r.ch <- c:
		case <-r.quit:
			return 0, r.reason
		}
	}
	return len(p), nil
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
	end    error // set by close before ch is closed
	quit   chan struct{}
	reason error // why the reader gave up; set before quit is closed
	gone   bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		c, ok := <-r.ch
		if !ok {
			return 0, r.end
		}
		r.cur = c
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
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
