// Package engine is GAS's variant annotator: it streams a VCF through a
// pipeline (a reader goroutine cutting the input into batches of whole
// lines, workers annotating batches in parallel, a writer putting them back
// in order) and adds the standard ANN field with per-transcript consequences
// predicted by package csq against a model.Reference. Memory stays bounded
// whatever the input size: only a few batches are in flight at any time.
package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
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

// DefaultMaxAlts is the default cap on ALT alleles per record: far above
// what callers emit at a site (multi-allelic sites in gnomAD list a few
// dozen), far below what keeps an annotator busy for minutes.
const DefaultMaxAlts = 1000

// KnownOpener opens a fresh known-variants matcher for one Annotate call
// (matchers follow the input in order and are not shared). ref gives the
// reference sequence so indels can be normalised before matching.
type KnownOpener func(ref known.Reference) (known.Matcher, error)

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

// Annotate reads a VCF (plain, gzip or BGZF) from in and writes it to out
// with ANN added (the results.Engine that adapters/results streams jobs through).
func (e *Engine) Annotate(ctx context.Context, in io.Reader, out io.Writer) (domain.Summary, error) {
	sum := domain.Summary{Reference: e.ref.Name}
	rc, err := input.Open(in, input.Limits{MaxInflated: e.opt.MaxInflated})
	if err != nil {
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
