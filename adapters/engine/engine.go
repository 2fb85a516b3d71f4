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
	"github.com/gasproject/gas/adapters/vartable"
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
	// Pick chooses which of an allele's ANN entries are written (default
	// all of them, most severe first).
	Pick Pick
}

// Pick chooses which of an allele's ANN entries are written.
type Pick int

// Picks. Entries are written most severe first whatever the pick
// (csq.Severity), so "most severe" keeps the first; "canonical" keeps the
// entries on canonical transcripts, or the first when there are none (an
// intergenic allele, or a gene without a canonical transcript), so every
// allele keeps at least one entry.
const (
	PickAll Pick = iota
	PickMostSevere
	PickCanonical
)

// ParsePick reads "all", "most-severe" or "canonical".
func ParsePick(s string) (Pick, error) {
	switch s {
	case "all", "":
		return PickAll, nil
	case "most-severe":
		return PickMostSevere, nil
	case "canonical":
		return PickCanonical, nil
	}
	return 0, fmt.Errorf("unknown pick %q (want all, most-severe or canonical)", s)
}

// Job is one Annotate call's choices beyond the Engine's Options.
type Job struct {
	// SkipMalformed drops malformed lines whatever Options.OnError says;
	// they are counted and the first reasons kept in the summary.
	SkipMalformed bool
	// Table, when set, is handed every line as it is written with its
	// rows, so the variant index is built from the engine's own values
	// instead of parsing ANN again (adapters/vartable's Builder).
	Table vartable.Sink
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
	vocab  *vartable.Vocabulary

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
	e := &Engine{ref: ref, opt: opt, labels: csq.NewLabels(ref), vocab: vocabulary(ref)}
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

// vocabulary names the codes of the table rows the engine hands over.
func vocabulary(ref *model.Reference) *vartable.Vocabulary {
	v := &vartable.Vocabulary{Terms: csq.TermNames(), Warnings: csq.WarningNames(), Genes: make([]string, len(ref.Genes))}
	for i := range ref.Genes {
		v.Genes[i] = ref.Genes[i].Name
	}
	return v
}

// Annotate reads a VCF (plain, gzip or BGZF) from in and writes it to out
// with ANN added.
func (e *Engine) Annotate(ctx context.Context, in io.Reader, out io.Writer) (domain.Summary, error) {
	return e.AnnotateJob(ctx, in, out, Job{})
}

// AnnotateJob is Annotate with one job's choices (the results.Engine that
// adapters/results streams jobs through).
func (e *Engine) AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, job Job) (domain.Summary, error) {
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
	if job.Table != nil {
		if err := job.Table.Start(e.vocab, int64(len(hdr))); err != nil {
			return sum, fmt.Errorf("variant table: %w", err)
		}
	}
	st, err := e.run(ctx, br, first, firstLine, out, int64(len(hdr)), job)
	st.fill(&sum, e.ref)
	return sum, err
}
