// Package engine is GAS's variant annotator: it streams a VCF through a
// pipeline (a reader goroutine cutting the input into batches of whole
// lines, workers annotating batches in parallel, a writer putting them back
// in order) and adds the standard ANN field with per-transcript consequences
// predicted by package csq against a model.Reference. Memory stays bounded
// whatever the input size: only a few batches are in flight at any time.
package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/input"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// OnError says what to do with a malformed data line.
type OnError int

// Policies for malformed lines.
const (
	// Fail stops at the first malformed line with an error naming it.
	Fail OnError = iota
	// Skip drops malformed lines, counting them in the summary.
	Skip
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// MaxLine is the longest accepted VCF line in bytes (default 1 MiB).
	MaxLine int
	// MaxAllele is the longest accepted REF or ALT allele (default 100 kb).
	MaxAllele int
	// MaxAlts is the most ALT alleles one record may list (default
	// DefaultMaxAlts); a record with more is refused, naming its line,
	// since every allele is annotated against every overlapping transcript.
	MaxAlts int
	// MaxInflated bounds the decompressed input size (0: unbounded).
	MaxInflated int64
	// OnError chooses between failing and skipping on malformed lines.
	OnError OnError
	// Workers is the number of annotating goroutines (default GOMAXPROCS).
	Workers int
	// Known, when set, adds IDs and allele frequencies of known variants:
	// the ID column (when it is ".") and INFO KNOWN_AF.
	Known KnownOpener
	// Progress, when set, is called from the writer with the number of
	// records written so far, about every 64k records.
	Progress func(records int64)
}

// KnownOpener opens a fresh known-variants matcher for one Annotate call
// (matchers follow the input in order and are not shared). ref gives the
// reference sequence so indels can be normalised before matching.
type KnownOpener func(ref known.Reference) (known.Matcher, error)

// knownHit is the known-variant answer for one ALT allele.
type knownHit struct {
	id    string
	af    float64
	hasAF bool
	ok    bool
}

// Engine annotates VCFs against one reference. It is safe for concurrent use.
type Engine struct {
	ref    *model.Reference
	opt    Options
	labels *csq.Labels

	// Buffers outlive an Annotate call: a server running many small jobs
	// would otherwise allocate (and the GC reclaim) fresh batch buffers
	// for every job, which dominated its CPU time.
	batches sync.Pool // *batch
	readers sync.Pool // *bufio.Reader of readBufSize
	// outRatio estimates output bytes per input byte, in eighths, to size
	// each batch's output reservation (see outReserve).
	outRatio atomic.Int32
}

// New makes an Engine over a finished reference.
func New(ref *model.Reference, opt Options) (*Engine, error) {
	if ref == nil {
		return nil, errors.New("engine: nil reference")
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = lineio.DefaultMaxLine
	}
	if opt.MaxAllele <= 0 {
		opt.MaxAllele = 100_000
	}
	if opt.MaxAlts <= 0 {
		opt.MaxAlts = DefaultMaxAlts
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	e := &Engine{ref: ref, opt: opt, labels: csq.NewLabels(ref)}
	e.outRatio.Store(initialOutRatio)
	return e, nil
}

// Reference names the annotation database.
func (e *Engine) Reference() string { return e.ref.Name }

// Model exposes the loaded reference (for tools and tests).
func (e *Engine) Model() *model.Reference { return e.ref }

// InputError is a problem with the user's file; it wraps ports.ErrBadInput.
type InputError struct {
	Line int64 // 0 when not tied to a line
	Msg  string
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Is makes errors.Is(err, ports.ErrBadInput) true.
func (e *InputError) Is(target error) bool { return target == ports.ErrBadInput }

func badInput(line int64, format string, args ...any) error {
	return &InputError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// DefaultMaxAlts is the default cap on ALT alleles per record: far above
// what callers emit at a site (multi-allelic sites in gnomAD list a few
// dozen), far below what keeps an annotator busy for minutes.
const DefaultMaxAlts = 1000

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
	lines     int64
	// known answers, per data line of the batch: hits[lineStart[i]:lineStart[i+1]]
	hits      []knownHit
	lineStart []int32
}

// Annotate reads a VCF (plain, gzip or BGZF) from in and writes it to out
// with ANN added; see ports.Annotator.
func (e *Engine) Annotate(ctx context.Context, in io.Reader, out io.Writer) (domain.Summary, error) {
	sum := domain.Summary{Reference: e.ref.Name}
	rc, err := input.Open(in, input.Limits{MaxInflated: e.opt.MaxInflated})
	if err != nil {
		if errors.Is(err, ports.ErrBadInput) {
			return sum, fmt.Errorf("open input: %w", err)
		}
		return sum, fmt.Errorf("open input: %w", err)
	}
	defer rc.Close()
	br, _ := e.readers.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(rc, readBufSize)
	} else {
		br.Reset(rc)
	}
	defer func() {
		br.Reset(nil) // drop the reference to this job's input
		e.readers.Put(br)
	}()
	hdr, first, firstLine, err := e.readHeader(br)
	if err != nil {
		return sum, err
	}
	if _, err := out.Write(hdr); err != nil {
		return sum, fmt.Errorf("write output: %w", err)
	}
	st, err := e.run(ctx, br, first, firstLine, out)
	st.fill(&sum, e.ref)
	return sum, err
}

// readHeader consumes the header, returning it with the ANN line added, and
// the first data line (nil at EOF) with its number.
func (e *Engine) readHeader(br *bufio.Reader) ([]byte, []byte, int64, error) {
	lr := lineio.NewReader(br, e.opt.MaxLine)
	var hdr []byte
	n := 0
	sawChrom := false
	for {
		line, err := lr.Next()
		if err == io.EOF {
			if n == 0 {
				return nil, nil, 0, badInput(0, "empty input: not a VCF file")
			}
			if !sawChrom {
				return nil, nil, 0, badInput(lr.Line(), "missing header: no #CHROM line")
			}
			return hdr, nil, 0, nil
		}
		if err != nil {
			var le *lineio.LineError
			if errors.As(err, &le) {
				return nil, nil, 0, badInput(le.Line, "%v", le.Err)
			}
			if errors.Is(err, ports.ErrBadInput) {
				return nil, nil, 0, fmt.Errorf("read input: %w", err)
			}
			return nil, nil, 0, fmt.Errorf("read input: %w", err)
		}
		n++
		if n == 1 && !bytes.HasPrefix(line, []byte("##fileformat=VCF")) {
			if isBinaryish(line) {
				return nil, nil, 0, badInput(1, "missing header: this does not look like a VCF text file")
			}
			return nil, nil, 0, badInput(1, "missing header: the first line must be ##fileformat=VCFv4.x")
		}
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte("##")) {
			if bytes.HasPrefix(line, []byte("##INFO=<ID=ANN,")) {
				continue // replaced by ours
			}
			hdr = append(hdr, line...)
			hdr = append(hdr, '\n')
			continue
		}
		if bytes.HasPrefix(line, []byte("#CHROM")) {
			cols := bytes.Split(line, []byte{'\t'})
			want := []string{"#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"}
			if len(cols) < 8 {
				return nil, nil, 0, badInput(lr.Line(), "#CHROM header line has %d tab-separated columns, expected at least 8", len(cols))
			}
			for i, w := range want {
				if string(cols[i]) != w {
					return nil, nil, 0, badInput(lr.Line(), "#CHROM header column %d is %q, expected %q", i+1, cols[i], w)
				}
			}
			hdr = append(hdr, csq.ANNHeader...)
			hdr = append(hdr, '\n')
			if e.opt.Known != nil {
				hdr = append(hdr, knownHeader...)
			}
			hdr = append(hdr, line...)
			hdr = append(hdr, '\n')
			sawChrom = true
			continue
		}
		if line[0] == '#' {
			return nil, nil, 0, badInput(lr.Line(), "malformed header line (starts with a single '#' but is not #CHROM)")
		}
		if !sawChrom {
			return nil, nil, 0, badInput(lr.Line(), "missing header: data line before the #CHROM line")
		}
		first := append([]byte(nil), line...)
		first = append(first, '\n')
		return hdr, first, lr.Line(), nil
	}
}

func isBinaryish(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			return true
		}
	}
	return false
}

// run streams the body through the worker pipeline.
func (e *Engine) run(ctx context.Context, br *bufio.Reader, first []byte, firstLine int64, out io.Writer) (*stats, error) {
	total := newStats()
	if first == nil {
		return total, nil
	}
	workers := e.opt.Workers
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := workers*2 + 1
	// Batches come from the Engine's pool as the reader needs them (a
	// small job takes one), circulate through free, and go back to the
	// pool when the run ends.
	free := make(chan *batch, inflight)
	work := make(chan *batch, inflight)
	done := make(chan *batch, inflight)
	var matcher known.Matcher
	if e.opt.Known != nil {
		m, err := e.opt.Known(known.ReferenceFunc(func(chrom string, start, end int64) []byte {
			ci, ok := e.ref.Chrom(chrom)
			if !ok {
				return nil
			}
			return e.ref.Seq(ci, int32(start), int32(end))
		}))
		if err != nil {
			return total, fmt.Errorf("known variants: %w", err)
		}
		matcher = m
		defer m.Close()
	}
	var readErr error
	go func() {
		defer close(work)
		readErr = e.readBatches(ctx, br, first, firstLine, inflight, free, work, matcher)
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newProcessor(e)
			for b := range work {
				if err := ctx.Err(); err != nil {
					// Cancelled (shutdown, a lost lease): the batches
					// still queued are not worth annotating.
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
		}()
	}
	go func() { wg.Wait(); close(done) }()

	pending := map[int]*batch{}
	next := 0
	var werr error
	var records, lastProgress int64
	for b := range done {
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if werr == nil {
				if nb.err != nil {
					werr = nb.err
					cancel()
				} else if _, err := out.Write(nb.out); err != nil {
					werr = fmt.Errorf("write output: %w", err)
					cancel()
				}
				total.merge(nb.stats)
				records += nb.stats.records
				if e.opt.Progress != nil && records-lastProgress >= 1<<16 {
					e.opt.Progress(records)
					lastProgress = records
				}
			}
			nb.stats.reset()
			nb.err = nil
			select {
			case free <- nb:
			default:
			}
		}
	}
	// Every goroutine has finished (done is closed after the workers, who
	// finish after the reader): recycle the batches. One the reader held
	// when it stopped early is left to the GC.
	for _, b := range pending {
		e.putBatch(b)
	}
	for len(free) > 0 {
		e.putBatch(<-free)
	}
	if werr != nil {
		return total, werr
	}
	if readErr != nil {
		return total, readErr
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	return total, nil
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
// inflight batches at a time.
func (e *Engine) readBatches(ctx context.Context, br *bufio.Reader, first []byte, firstLine int64, inflight int, free chan *batch, work chan *batch, m known.Matcher) error {
	carry := append(make([]byte, 0, 1024), first...)
	line := firstLine
	seq := 0
	eof := false
	made := 0
	for !eof {
		var b *batch
		select {
		case b = <-free:
		default:
			if made < inflight {
				b = e.getBatch()
				made++
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case b = <-free:
			}
		}
		if err := ctx.Err(); err != nil {
			free <- b // recycled by run
			return err
		}
		data := append(b.data[:0], carry...)
		carry = carry[:0]
		for {
			if len(data) == cap(data) {
				if len(data) > e.opt.MaxLine+batchSize && bytes.LastIndexByte(data, '\n') < 0 {
					break
				}
				nd := make([]byte, len(data), 2*cap(data))
				copy(nd, data)
				data = nd
			}
			n, err := br.Read(data[len(data):cap(data)])
			data = data[:len(data)+n]
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				if errors.Is(err, ports.ErrBadInput) {
					return fmt.Errorf("line %d or later: %w", line+int64(bytes.Count(data, []byte{'\n'})), err)
				}
				return fmt.Errorf("read input: %w", err)
			}
			if len(data) >= batchSize {
				if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
					break
				}
				if len(data) > e.opt.MaxLine {
					return badInput(line, "line longer than %d bytes", e.opt.MaxLine)
				}
			}
		}
		if !eof {
			i := bytes.LastIndexByte(data, '\n')
			if i < 0 {
				return badInput(line, "line longer than %d bytes", e.opt.MaxLine)
			}
			carry = append(carry, data[i+1:]...)
			data = data[:i+1]
			if len(carry) > e.opt.MaxLine {
				return badInput(line+int64(bytes.Count(data, []byte{'\n'})), "line longer than %d bytes", e.opt.MaxLine)
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
		seq++
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

// knownHeader declares what known-variant matching adds.
const knownHeader = "##INFO=<ID=KNOWN_AF,Number=A,Type=Float,Description=\"Allele frequency of the matching known variant (GAS --known), . when unknown\">\n"

// matchKnown looks up every ALT allele of the batch, in file order, on the
// reader goroutine (sorted-merge matchers need exactly that order). A line
// with more than maxAlts alleles is not looked up: the worker refuses it.
func matchKnown(b *batch, m known.Matcher, maxAlts int) error {
	b.hits = b.hits[:0]
	b.lineStart = b.lineStart[:0]
	data := b.data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		b.lineStart = append(b.lineStart, int32(len(b.hits)))
		var cols [5][]byte
		n := 0
		for n < 5 {
			j := bytes.IndexByte(l, '\t')
			if j < 0 {
				break
			}
			cols[n] = l[:j]
			l = l[j+1:]
			n++
		}
		if n < 5 {
			continue // malformed: the worker reports it
		}
		pos, err := strconv.ParseInt(string(cols[1]), 10, 64)
		if err != nil || bytes.Count(cols[4], []byte{','}) >= maxAlts {
			continue
		}
		for _, alt := range bytes.Split(cols[4], []byte{','}) {
			var h knownHit
			if len(alt) > 0 && !symbolic(alt) {
				hit, ok, err := m.Match(string(cols[0]), pos, string(cols[3]), string(alt))
				if err != nil {
					return fmt.Errorf("known variants: %w", err)
				}
				if ok {
					h = knownHit{id: hit.ID, af: hit.AF, hasAF: hit.HasAF, ok: true}
				}
			}
			b.hits = append(b.hits, h)
		}
	}
	b.lineStart = append(b.lineStart, int32(len(b.hits)))
	return nil
}
