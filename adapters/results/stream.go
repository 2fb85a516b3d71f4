package results

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Sentinels that end a pipe's other side once its consumer is done, so
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

// stream runs the engine on in and stores its output (and index) under
// keys as it is produced.
func (a *Annotator) stream(ctx context.Context, in io.Reader, keys domain.ResultKeys) (domain.Summary, error) {
	vcf, out := io.Pipe()
	var sum domain.Summary
	annotated := stage(func() error {
		var err error
		sum, err = a.engine.Annotate(ctx, in, out)
		out.CloseWithError(err)
		return err
	})
	stored, indexed := a.store(ctx, vcf, keys)
	annErr := <-annotated
	switch {
	case errors.Is(annErr, ports.ErrBadInput):
		return sum, annErr // its message is for the user: keep it as the engine wrote it
	case annErr != nil:
		return sum, fmt.Errorf("annotate: %w", annErr)
	case stored != nil && (indexed == nil || errors.Is(indexed, stored)):
		return sum, fmt.Errorf("store result: %w", stored) // the indexer, if it failed, only heard of it
	}
	return sum, indexed // a failed indexer also fails the upload it was copying from
}

// store writes the annotated VCF from vcf to keys.VCF and, with an
// indexer, the index built from a copy of the same stream to keys.Index.
func (a *Annotator) store(ctx context.Context, vcf *io.PipeReader, keys domain.ResultKeys) (stored, indexed error) {
	if a.indexer == nil {
		_, err := a.objects.Put(ctx, keys.VCF, vcf)
		vcf.CloseWithError(errOr(err, errStored))
		return err, nil
	}
	copyOut, copyIn := io.Pipe()
	index := stage(func() error { return a.index(ctx, copyOut, keys.Index) })
	_, err := a.objects.Put(ctx, keys.VCF, io.TeeReader(vcf, copyIn))
	vcf.CloseWithError(errOr(err, errStored))
	copyIn.CloseWithError(err) // nil: the indexer reads EOF after a complete upload
	return err, <-index
}

// index builds the variant index from vcf and stores it at key, reading
// vcf to its end so the stream it copies keeps flowing.
func (a *Annotator) index(ctx context.Context, vcf *io.PipeReader, key string) error {
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
	vcf.CloseWithError(errOr(err, errIndexed))
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
