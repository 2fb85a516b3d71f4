package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/ports"
)

const (
	// batchSize is the input cut into one unit of work: about 2,000
	// records, half a millisecond of annotation, so channel hand-offs cost
	// nothing while little is in flight (peak memory stays flat).
	batchSize = 64 << 10
	// initialOutRatio is the first guess of output per input byte, in
	// eighths: annotation multiplies the size by 5-10 on typical inputs
	// (5.7 on average on the benchmark set, up to 8.6 for a batch). Each
	// batch's output reservation is its input size times the running
	// estimate, which adapts upwards at once and decays slowly (see
	// noteExpansion); a reservation that proves too small just grows, and
	// the grown buffer is kept for reuse. Guessing high costs nothing:
	// pages the output never reaches are never touched, so they take no
	// resident memory, while every regrowth leaves garbage behind.
	initialOutRatio = 12 * 8
	maxOutRatio     = 64 * 8
	// maxPooledData and maxPooledOut bound the buffers kept for reuse, so
	// one job with very long lines does not pin large buffers forever.
	maxPooledData = 4 * batchSize
	maxPooledOut  = 32 * batchSize
	maxSkipped    = 20
	// readBufSize is the input buffer. It must not be smaller than
	// lineio's buffer: readHeader's lineio.Reader then reuses it instead
	// of buffering ahead on its own (data it read ahead would be lost to
	// readBatches).
	readBufSize = 64 << 10
)

type batch struct {
	seq       int
	data      []byte
	firstLine int64
	out       []byte
	stats     *stats
	err       error
	// known answers, per data line of the batch: hits[lineStart[i]:lineStart[i+1]]
	hits      []knownHit
	lineStart []int32
	// the table rows of out, for Job.Table: line offsets are relative to out
	lines   []vartable.Line
	entries []vartable.Entry
}

// run streams the body through the pipeline: readBatches cuts it into
// batches on one goroutine, workers annotate them, and this goroutine
// writes them back in input order (after the header of header bytes, for
// the table's line offsets).
func (e *Engine) run(ctx context.Context, br *bufio.Reader, first []byte, firstLine int64, out io.Writer, header int64, job Job) (*stats, error) {
	total := newStats()
	if first == nil {
		return total, nil
	}
	matcher, err := e.openKnown()
	if err != nil {
		return total, fmt.Errorf("known variants: %w", err)
	}
	if matcher != nil {
		defer matcher.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := e.opt.Workers*2 + 1
	if job.Table != nil {
		// The in-order stage indexes every batch too, and now and then
		// falls behind the workers: with two batches each in flight they
		// then wait for it, a core idle. Four each absorb that (a 1M-
		// variant job on two cores: median 0.370 against 0.380 s, the
		// server's CPU 10 ms less; eight each gain nothing more).
		inflight = e.opt.Workers*4 + 1
	}
	// Batches come from the Engine's pool as the reader needs them (a
	// small job takes one), circulate through free, and go back to the
	// pool when the run ends.
	free := make(chan *batch, inflight)
	work := make(chan *batch, inflight)
	var readErr error
	go func() {
		defer close(work)
		readErr = e.readBatches(ctx, br, first, firstLine, inflight, free, work, matcher)
	}()
	w := inOrder{e: e, out: out, table: job.Table, total: total, cancel: cancel, pending: map[int]*batch{}}
	w.written = header
	for b := range e.startWorkers(ctx, work, inflight, job) {
		w.add(b, free)
	}
	// Every goroutine has finished (done is closed after the workers, who
	// finish after the reader): recycle the batches. One the reader held
	// when it stopped early is left to the GC.
	for _, b := range w.pending {
		e.putBatch(b)
	}
	for len(free) > 0 {
		e.putBatch(<-free)
	}
	switch {
	case w.err != nil:
		return total, w.err
	case readErr != nil:
		return total, readErr
	}
	return total, ctx.Err()
}

// startWorkers starts the annotating goroutines. The channel returned
// receives every batch they finish and is closed after the last.
func (e *Engine) startWorkers(ctx context.Context, work <-chan *batch, inflight int, job Job) <-chan *batch {
	done := make(chan *batch, inflight)
	var wg sync.WaitGroup
	for range e.opt.Workers {
		wg.Go(func() { e.annotateBatches(ctx, work, done, job) })
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

// annotateBatches is one worker: it annotates batches from work until the
// reader closes it. Once ctx is cancelled (shutdown, a lost lease) the
// batches still queued are handed back unannotated, with the cause.
func (e *Engine) annotateBatches(ctx context.Context, work <-chan *batch, done chan<- *batch, job Job) {
	p := newProcessor(e)
	p.skip = e.opt.OnError == Skip || job.SkipMalformed
	p.table = job.Table != nil
	for b := range work {
		if err := ctx.Err(); err != nil {
			b.err = err
			done <- b
			continue
		}
		if want := e.outReserve(len(b.data)); cap(b.out) < want {
			// with headroom, so a reused buffer is not replaced
			// again for every small rise of the estimate
			b.out = make([]byte, 0, want+want/4)
		}
		p.process(b)
		e.noteExpansion(len(b.data), len(b.out))
		done <- b
	}
}

// inOrder writes annotated batches in input order as the workers finish
// them, merging their statistics; after the first error it only recycles
// them, and cancels the run.
type inOrder struct {
	e                     *Engine
	out                   io.Writer
	table                 vartable.Sink
	written               int64 // output bytes so far, the header included
	total                 *stats
	cancel                context.CancelFunc
	pending               map[int]*batch // finished, waiting for their turn
	next                  int
	records, lastProgress int64
	err                   error
}

// add takes a finished batch, writes every batch that is now next in
// line and hands them back to free for the reader.
func (w *inOrder) add(b *batch, free chan<- *batch) {
	w.pending[b.seq] = b
	for {
		nb, ok := w.pending[w.next]
		if !ok {
			return
		}
		delete(w.pending, w.next)
		w.next++
		if w.err == nil {
			w.write(nb)
		}
		nb.stats.reset()
		nb.err = nil
		select {
		case free <- nb:
		default:
		}
	}
}

func (w *inOrder) write(b *batch) {
	n := int64(len(b.out))
	if b.err != nil {
		w.err = b.err
	} else if err := w.emit(b); err != nil {
		w.err = fmt.Errorf("write output: %w", err)
	} else if w.table != nil {
		for i := range b.lines {
			b.lines[i].Offset += w.written
		}
		if err := w.table.Lines(b.lines, b.entries); err != nil {
			w.err = fmt.Errorf("variant table: %w", err)
		}
	}
	w.written += n
	if w.err != nil {
		w.cancel()
	}
	w.total.merge(b.stats)
	w.records += b.stats.records
	if w.e.opt.Progress != nil && w.records-w.lastProgress >= 1<<16 {
		w.e.opt.Progress(w.records)
		w.lastProgress = w.records
	}
}

// BufferTaker is an output that takes the buffers written to it instead
// of copying them (adapters/results' stream to object storage), so a
// batch's annotated bytes are not copied once more on their way out.
type BufferTaker interface {
	// Take keeps p, which its caller no longer touches, and returns an
	// empty buffer for the caller to reuse, or nil.
	Take(p []byte) ([]byte, error)
}

// emit writes b's output: its buffer itself to a BufferTaker, which
// hands back another for the batch.
func (w *inOrder) emit(b *batch) error {
	t, ok := w.out.(BufferTaker)
	if !ok || len(b.out) == 0 {
		_, err := w.out.Write(b.out)
		return err
	}
	spare, err := t.Take(b.out)
	b.out = spare[:0]
	return err
}

// getBatch takes a batch from the Engine's pool or makes one.
func (e *Engine) getBatch() *batch {
	if b, ok := e.batches.Get().(*batch); ok {
		return b
	}
	return &batch{data: make([]byte, 0, batchSize), stats: newStats()}
}

// putBatch returns a batch to the pool, unless its buffers grew too large
// to keep.
func (e *Engine) putBatch(b *batch) {
	if cap(b.data) > maxPooledData || cap(b.out) > maxPooledOut {
		return
	}
	b.data, b.out = b.data[:0], b.out[:0]
	b.hits, b.lineStart = b.hits[:0], b.lineStart[:0]
	b.lines, b.entries = b.lines[:0], b.entries[:0]
	b.err = nil
	b.stats.reset()
	e.batches.Put(b)
}

// outReserve is the output capacity to reserve for n bytes of input.
func (e *Engine) outReserve(n int) int {
	return n * int(e.outRatio.Load()) / 8
}

// noteExpansion updates the output-size estimate from a finished batch:
// up at once to the ratio seen plus a quarter, down by 1/16 per batch, so
// the reservation follows the input without thrashing.
func (e *Engine) noteExpansion(in, out int) {
	if in < 4096 {
		return // too small to say anything
	}
	seen := int32(min(out*8/in*5/4+1, maxOutRatio))
	for {
		cur := e.outRatio.Load()
		next := max(seen, cur-cur/16)
		if next == cur || e.outRatio.CompareAndSwap(cur, next) {
			return
		}
	}
}

// readBatches cuts the body into batches of whole lines, using at most
// inflight batches at a time; the first line, already read, is first.
func (e *Engine) readBatches(ctx context.Context, br *bufio.Reader, first []byte, firstLine int64, inflight int, free chan *batch, work chan<- *batch, m known.Matcher) error {
	carry := append(make([]byte, 0, 1024), first...)
	line := firstLine
	made := 0
	for seq, eof := 0, false; !eof; seq++ {
		b, err := e.takeBatch(ctx, free, &made, inflight)
		if err != nil {
			return err
		}
		data := append(b.data[:0], carry...)
		if data, eof, err = e.fill(br, data, line); err != nil {
			return err
		}
		carry = carry[:0]
		if !eof {
			if data, carry, err = e.cutAfterLastLine(data, carry, line); err != nil {
				return err
			}
		}
		b.data = data
		if m != nil {
			if err := matchKnown(b, m, e.opt.MaxAlts); err != nil {
				return err
			}
		}
		b.seq = seq
		b.firstLine = line
		line += int64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			line++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case work <- b:
		}
	}
	return nil
}

// takeBatch returns a free batch, a new one while fewer than inflight
// were made, or waits for one to come back.
func (e *Engine) takeBatch(ctx context.Context, free chan *batch, made *int, inflight int) (*batch, error) {
	var b *batch
	select {
	case b = <-free:
	default:
		if *made < inflight {
			*made++
			return e.getBatch(), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case b = <-free:
		}
	}
	if err := ctx.Err(); err != nil {
		free <- b // recycled by run
		return nil, err
	}
	return b, nil
}

// fill reads into data until it holds a batch's worth ending in a line
// break, the input ends (eof), or a line proves longer than the limit;
// line is the number of data's first line, for messages.
func (e *Engine) fill(br *bufio.Reader, data []byte, line int64) (_ []byte, eof bool, _ error) {
	for {
		if len(data) == cap(data) {
			if len(data) > e.opt.MaxLine+batchSize && bytes.LastIndexByte(data, '\n') < 0 {
				return data, false, nil // cutAfterLastLine reports it
			}
			nd := make([]byte, len(data), 2*cap(data))
			copy(nd, data)
			data = nd
		}
		n, err := br.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, true, nil
		}
		if err != nil {
			if errors.Is(err, ports.ErrBadInput) {
				return data, false, fmt.Errorf("line %d or later: %w", line+int64(bytes.Count(data, []byte{'\n'})), err)
			}
			return data, false, fmt.Errorf("read input: %w", err)
		}
		if len(data) >= batchSize {
			if bytes.LastIndexByte(data, '\n') >= 0 {
				return data, false, nil
			}
			if len(data) > e.opt.MaxLine {
				return data, false, badInput(line, "line longer than %d bytes", e.opt.MaxLine)
			}
		}
	}
}

// cutAfterLastLine moves the partial line at the end of data to carry, for
// the next batch.
func (e *Engine) cutAfterLastLine(data, carry []byte, line int64) ([]byte, []byte, error) {
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		return data, carry, badInput(line, "line longer than %d bytes", e.opt.MaxLine)
	}
	carry = append(carry, data[i+1:]...)
	data = data[:i+1]
	if len(carry) > e.opt.MaxLine {
		return data, carry, badInput(line+int64(bytes.Count(data, []byte{'\n'})), "line longer than %d bytes", e.opt.MaxLine)
	}
	return data, carry, nil
}
