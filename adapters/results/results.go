// Package results turns a job's input object into its result objects: it
// streams the input through the annotation engine into object storage,
// builds the variant-table index from the same stream, and stores the
// summary (JSON, the format the pages chart) and its readable log. It is
// the ports.Annotator every deployment runs; the domain's runner only
// decides when and under which lease.
package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Engine annotates a VCF stream (the annotation engine, adapters/engine).
type Engine interface {
	Reference() string
	// Annotate reads a VCF (plain, gzip or BGZF) from in and writes the
	// annotated VCF to out; input errors wrap ports.ErrBadInput.
	Annotate(ctx context.Context, in io.Reader, out io.Writer) (domain.Summary, error)
}

// Indexer builds the variant-table index of an annotated VCF as it
// streams (adapters/vartable).
type Indexer interface {
	Index(ctx context.Context, annotatedVCF io.Reader, index io.Writer) error
}

// Annotator is the ports.Annotator over an object store and an engine.
type Annotator struct {
	objects ports.ObjectStore
	engine  Engine
	indexer Indexer
}

var _ ports.Annotator = (*Annotator)(nil)

// New annotates with engine, reading and writing objects; a nil indexer
// keeps no variant index (the results then have no Index key).
func New(objects ports.ObjectStore, engine Engine, indexer Indexer) (*Annotator, error) {
	if objects == nil || engine == nil {
		return nil, errors.New("results: an object store and an engine are required")
	}
	return &Annotator{objects: objects, engine: engine, indexer: indexer}, nil
}

// Reference names the engine's annotation database.
func (a *Annotator) Reference() string { return a.engine.Reference() }

// Annotate stores the annotated VCF and its index as they stream, then the
// summary and the log. The input is decompressed here, within limits.
func (a *Annotator) Annotate(ctx context.Context, input string, keys domain.ResultKeys, limits domain.InputLimits) (ports.Annotated, error) {
	if a.indexer == nil {
		keys.Index = ""
	}
	obj, err := a.objects.Get(ctx, input)
	if err != nil {
		return ports.Annotated{}, fmt.Errorf("open input: %w", err)
	}
	defer obj.Close()
	in, err := limited(obj, limits)
	if err != nil {
		return ports.Annotated{}, fmt.Errorf("open input: %w", err)
	}
	defer in.Close()
	sum, err := a.stream(ctx, in, keys)
	if over := exceeded(err, limits); over != nil {
		return ports.Annotated{}, over
	}
	if err != nil {
		return ports.Annotated{}, err
	}
	if err := a.storeSummary(ctx, sum, keys); err != nil {
		return ports.Annotated{}, err
	}
	return ports.Annotated{Keys: keys, Summary: sum}, nil
}

// storeSummary writes the summary JSON and its readable log.
func (a *Annotator) storeSummary(ctx context.Context, sum domain.Summary, keys domain.ResultKeys) error {
	js, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := a.objects.Put(ctx, keys.Summary, bytes.NewReader(js)); err != nil {
		return fmt.Errorf("store summary: %w", err)
	}
	var log bytes.Buffer
	if err := WriteLog(&log, sum); err != nil {
		return fmt.Errorf("render log: %w", err)
	}
	if _, err := a.objects.Put(ctx, keys.Log, &log); err != nil {
		return fmt.Errorf("store log: %w", err)
	}
	return nil
}

// ReadSummary reads a stored summary (at most maxSummary bytes).
func ReadSummary(ctx context.Context, objects ports.ObjectStore, key string) (domain.Summary, error) {
	rc, err := objects.Get(ctx, key)
	if err != nil {
		return domain.Summary{}, err
	}
	defer rc.Close()
	var s domain.Summary
	if err := json.NewDecoder(io.LimitReader(rc, maxSummary)).Decode(&s); err != nil {
		return domain.Summary{}, fmt.Errorf("decode summary %s: %w", key, err)
	}
	return s, nil
}

// maxSummary bounds what is read of a summary object.
const maxSummary = 16 << 20
