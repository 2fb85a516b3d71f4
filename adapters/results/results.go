// Package results turns a job's input object into its result objects: it
// streams the input through the annotation engine of the job's reference
// into object storage while the engine hands the variant-table index
// builder the rows it writes (nothing parses the VCF again), and stores
// the summary (JSON, the format the pages chart) and its readable log. It
// is the ports.Annotator every deployment runs; the domain's runner only
// decides when and under which lease.
package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Engine annotates a VCF stream against one annotation database (the
// annotation engine, adapters/engine).
type Engine interface {
	// Reference names the database.
	Reference() string
	// AnnotateJob reads a VCF (plain, gzip or BGZF) from in and writes the
	// annotated VCF to out, handing job.Table the rows it writes; input
	// errors wrap ports.ErrBadInput.
	AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error)
}

// Engines are a deployment's engines, one per annotation database, the
// default first.
type Engines []Engine

// Options tune an Annotator.
type Options struct {
	// Index tunes the variant-index builder (the rows of a run).
	Index vartable.BuildOptions
}

// Annotator is the ports.Annotator over an object store and engines.
type Annotator struct {
	objects ports.ObjectStore
	engines map[string]Engine
	names   []string
	opt     Options
}

var _ ports.Annotator = (*Annotator)(nil)

// New annotates with engines, reading and writing objects. Engines must
// name distinct references.
func New(objects ports.ObjectStore, engines Engines, opt Options) (*Annotator, error) {
	if objects == nil || len(engines) == 0 {
		return nil, errors.New("results: an object store and at least one engine are required")
	}
	a := &Annotator{objects: objects, engines: map[string]Engine{}, opt: opt}
	for _, e := range engines {
		name := e.Reference()
		if _, dup := a.engines[name]; dup {
			return nil, fmt.Errorf("results: two annotation databases are named %q", name)
		}
		a.engines[name] = e
		a.names = append(a.names, name)
	}
	return a, nil
}

// References names the engines' annotation databases, the default first.
func (a *Annotator) References() []string { return append([]string(nil), a.names...) }

// engine is the engine of reference name ("" the default).
func (a *Annotator) engine(name string) (Engine, error) {
	if name == "" {
		name = a.names[0]
	}
	if e, ok := a.engines[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("%w: %w %q (this deployment has %s)", ports.ErrBadInput, ports.ErrUnknownReference, name, strings.Join(a.names, ", "))
}

// Annotate stores the annotated VCF and its index as they stream, then the
// summary and the log. The input is decompressed here, within the
// request's limits.
func (a *Annotator) Annotate(ctx context.Context, req ports.AnnotationRequest) (ports.Annotated, error) {
	eng, err := a.engine(req.Options.Reference)
	if err != nil {
		return ports.Annotated{}, err
	}
	clock := newTimer()
	obj, err := a.objects.Get(ctx, req.Input)
	if err != nil {
		return ports.Annotated{}, fmt.Errorf("open input: %w", err)
	}
	defer obj.Close()
	in, err := limited(obj, req.Limits)
	if err != nil {
		return ports.Annotated{}, fmt.Errorf("open input: %w", err)
	}
	defer in.Close()
	sum, err := a.stream(ctx, eng, in, req, clock)
	if over := exceeded(err, req.Limits); over != nil {
		return ports.Annotated{}, over
	}
	if err != nil {
		return ports.Annotated{}, err
	}
	sum.Provenance = provenanceOf(eng, req.Options.SkipMalformed, clock.stages)
	if err := a.storeSummary(ctx, sum, req); err != nil {
		return ports.Annotated{}, err
	}
	return ports.Annotated{Keys: req.Keys, Summary: sum, Reference: eng.Reference()}, nil
}

// storeSummary writes the summary JSON and its readable log, side by
// side: each put waits for its own flush to the disk.
func (a *Annotator) storeSummary(ctx context.Context, sum domain.Summary, req ports.AnnotationRequest) error {
	js, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	var log bytes.Buffer
	if err := WriteLog(&log, sum, req.Options); err != nil {
		return fmt.Errorf("render log: %w", err)
	}
	logStored := stage(func() error {
		if _, err := a.objects.Put(ctx, req.Keys.Log, &log); err != nil {
			return fmt.Errorf("store log: %w", err)
		}
		return nil
	})
	if _, err := a.objects.Put(ctx, req.Keys.Summary, bytes.NewReader(js)); err != nil {
		return errors.Join(fmt.Errorf("store summary: %w", err), <-logStored)
	}
	return <-logStored
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
