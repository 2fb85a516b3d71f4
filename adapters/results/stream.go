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

// errStored ends a pipe whose consumer is done, so a producer never
// blocks on a reader that has gone.
var errStored = errors.New("upload finished")

// stage runs f in a goroutine; its error arrives on the channel.
func stage(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// upload stores what is written to w at key as it comes.
type upload struct {
	w    *io.PipeWriter
	done <-chan error
	// failed is set when the store failed before w was closed: then it
	// failed on its own, and whoever was writing only heard of it.
	failed atomic.Bool
}

func (a *Annotator) upload(ctx context.Context, key string) *upload {
	r, w := io.Pipe()
	u := &upload{w: w}
	u.done = stage(func() error {
		_, err := a.objects.Put(ctx, key, r)
		if err != nil {
			u.failed.Store(true)
		}
		r.CloseWithError(errOr(err, errStored))
		return err
	})
	return u
}

// stream runs the engine on in, storing its output and the index built
// from the rows it hands over as they are produced.
func (a *Annotator) stream(ctx context.Context, eng Engine, in io.Reader, req ports.AnnotationRequest, clock *timer) (domain.Summary, error) {
	vcf, idx := a.upload(ctx, req.Keys.VCF), a.upload(ctx, req.Keys.Index)
	b := vartable.NewBuilder(idx.w, a.opt.Index)
	defer b.Close()
	sum, annErr := eng.AnnotateJob(ctx, in, vcf.w, engine.Job{SkipMalformed: req.Options.SkipMalformed, Table: b})
	clock.done("read, annotate and write the VCF")
	var idxErr error
	if annErr == nil {
		idxErr = b.Finish()
		clock.done("finish the variant index")
	}
	vcfFailed, idxFailed := vcf.failed.Load(), idx.failed.Load()
	vcf.w.CloseWithError(annErr) // nil: the upload reads EOF after a complete VCF
	idx.w.CloseWithError(errors.Join(annErr, idxErr))
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
	}
	return sum, errors.Join(stored, indexed)
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
