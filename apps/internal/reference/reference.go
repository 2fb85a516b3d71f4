// Package reference opens the annotation engine the way every GAS entry
// point needs it: an annotation database (gasdb, a local path or a remote
// object such as s3://bucket/key) plus a known-variants source for rsIDs
// and allele frequencies. `gas annotate --db`, `gas serve` and the AWS
// annotator role all go through here, so the rule deciding which
// known-variants source is used — the configured one, else the one the
// database recorded at build time when it is reachable, else none — lives
// in one place and behaves the same everywhere.
package reference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/domain"
)

// NoKnown, given as the known-variants source, turns known-variant
// annotation off even when the database recorded a source.
const NoKnown = "none"

// Remote reads objects named by URIs (s3://bucket/key). Open returns an
// error wrapping fs.ErrNotExist when the object does not exist, so an
// optional companion (a .tbi index) can be told apart from a failure.
type Remote interface {
	Open(ctx context.Context, uri string) (io.ReadCloser, error)
}

// ErrNoRemote is returned for a remote source when no Remote was given
// (local mode has no object store to read s3:// from).
var ErrNoRemote = errors.New("remote sources (s3://) are not available here")

// IsRemote reports whether src names a remote object rather than a path.
func IsRemote(src string) bool { return strings.Contains(src, "://") }

// Config says what to open.
type Config struct {
	// DB is the annotation database: a path or a remote URI.
	DB string
	// Known is the known-variants source (path or remote URI; NoKnown to
	// turn it off). Empty means the source recorded in the database, when
	// reachable.
	Known string
	// Workers is the engine's annotating goroutines per job (0: one more
	// than GOMAXPROCS, see JobWorkers).
	Workers int
	// MaxAlts is the most ALT alleles a record may list (0: the engine's
	// default, engine.DefaultMaxAlts).
	MaxAlts int
	// Remote reads remote sources; nil accepts local paths only.
	Remote Remote
	// Dir is where a remote known-variants source is downloaded (a fresh
	// directory inside it, removed by Close; "" is os.TempDir()).
	Dir string
	// Logger receives the known-variants source's notes (nil: slog.Default()).
	Logger *slog.Logger
}

// Loaded is an open engine and how it was made.
type Loaded struct {
	// Engine annotates jobs; it is safe for concurrent use.
	Engine *engine.Engine
	// Known describes the known-variants source in use (or why none is).
	Known *Known
	// DB is the database's source and Meta what it recorded (its checksum).
	DB      string
	Meta    gasdb.Meta
	workers int
}

// Provenance is what results' logs say of this engine: the database's
// source and checksum, the known-variants source, the engine's settings.
func (l *Loaded) Provenance() domain.Provenance {
	// The file's name, not where it lies: with the checksum it names the
	// database, and users' logs need not learn paths or buckets.
	p := domain.Provenance{Database: path.Base(l.DB), Checksum: fmt.Sprintf("crc32:%08x", l.Meta.Checksum), Known: l.Known.Source}
	p.Settings = append(p.Settings, domain.Setting{Name: "Engine goroutines per job", Value: fmt.Sprint(l.workers)})
	if l.Known.Skipped != nil {
		p.Settings = append(p.Settings, domain.Setting{Name: "Known variants skipped", Value: l.Known.Skipped.Error()})
	}
	return p
}

// Close releases the known-variants source (a downloaded copy is removed).
func (l *Loaded) Close() {
	if l != nil && l.Known != nil {
		l.Known.Close()
	}
}

// Open reads the database and the known-variants source and makes the
// engine. A configured known source that cannot be used is an error; a
// recorded one that is unreachable is not (Loaded.Known.Skipped says why).
func Open(ctx context.Context, cfg Config) (*Loaded, error) {
	ref, meta, err := Read(ctx, cfg.DB, cfg.Remote)
	if err != nil {
		return nil, err
	}
	if meta.Format < gasdb.TagsFormat {
		log := cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("annotation database built before GAS read canonical and MANE Select tags: no transcript is marked; rebuild it with gas db build",
			"db", cfg.DB, "format", meta.Format)
	}
	k, err := OpenKnown(ctx, cfg.Known, meta.Known, cfg.DB, KnownOptions{Remote: cfg.Remote, Dir: cfg.Dir, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	workers := JobWorkers(cfg.Workers)
	eng, err := engine.New(ref, engine.Options{Workers: workers, MaxAlts: cfg.MaxAlts, Known: k.Opener})
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("annotation engine: %w", err)
	}
	return &Loaded{Engine: eng, Known: k, DB: cfg.DB, Meta: meta, workers: workers}, nil
}

// JobWorkers is a job's engine goroutines: n, or for 0 one more than the
// Go processors (GOMAXPROCS). An annotator's engine shares them with the
// job's index builder and its stores' writes and syncs, so with one
// worker per processor one idles whenever a worker waits (for a batch,
// for the in-order stage, in a system call). In `gas serve` on two cores
// (three processors, see serve.go), a 1M-variant job's median went from
// 0.387 to 0.375 s and from 0.352 to 0.335 s with four workers instead of
// three (16 alternating pairs, twice), and five gained nothing more.
// `gas annotate`, which does none of that work, gains nothing from an
// extra worker (0.29–0.30 s either way) and keeps one per processor.
func JobWorkers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0) + 1
}

// Read loads a gasdb database from a path or a remote object (streamed,
// never written to local disk) with what it recorded at build time.
func Read(ctx context.Context, src string, remote Remote) (*model.Reference, gasdb.Meta, error) {
	var body io.ReadCloser
	if IsRemote(src) {
		if err := checkURI(src); err != nil {
			return nil, gasdb.Meta{}, fmt.Errorf("annotation database: %w", err)
		}
		if remote == nil {
			return nil, gasdb.Meta{}, fmt.Errorf("annotation database %s: %w", src, ErrNoRemote)
		}
		rc, err := remote.Open(ctx, src)
		if err != nil {
			return nil, gasdb.Meta{}, fmt.Errorf("annotation database %s: %w", src, err)
		}
		body = rc
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, gasdb.Meta{}, fmt.Errorf("annotation database: %w", err)
		}
		body = f
	}
	defer body.Close()
	ref, meta, err := gasdb.ReadMeta(body)
	if err != nil {
		return nil, gasdb.Meta{}, fmt.Errorf("annotation database %s: %w", src, err)
	}
	return ref, meta, nil
}

// checkURI accepts scheme://bucket/key with both parts present.
func checkURI(src string) error {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" || strings.TrimPrefix(u.Path, "/") == "" {
		return fmt.Errorf("%q: want s3://bucket/key", src)
	}
	return nil
}

// KnownOptions tune OpenKnown.
type KnownOptions struct {
	Remote Remote       // reads remote sources (nil: local paths only)
	Dir    string       // download directory parent ("" is os.TempDir())
	Logger *slog.Logger // the source's notes (nil: slog.Default())
}

// Known is the known-variants source chosen for a database.
type Known struct {
	// Source is the source in use as configured or recorded (a path or a
	// URI; "" when annotating without known variants).
	Source string
	// File is the local file read (Source, or its downloaded copy).
	File string
	// Recorded is true when Source came from the database.
	Recorded bool
	// Skipped, when not nil, says why the database's recorded source is
	// not used; annotation goes on without known variants.
	Skipped error
	// Opener is the engine's option (nil when Source is "").
	Opener engine.KnownOpener
	tmp    string
}

// Close removes a downloaded copy.
func (k *Known) Close() {
	if k != nil && k.tmp != "" {
		_ = os.RemoveAll(k.tmp)
		k.tmp = ""
	}
}

// OpenKnown applies the one rule for choosing the known-variants source of
// the database db: the configured source wins and must work (NoKnown turns
// known variants off); otherwise the source recorded in the database
// (a relative one is taken next to the database, so a database and its
// known-variants file can be moved or uploaded together) is used when it
// can be opened, and skipped with the reason otherwise. Remote sources are
// downloaded once with their .tbi index (built locally when the bucket has
// none); a source is opened once here so a broken file stops start-up.
func OpenKnown(ctx context.Context, configured, recorded, db string, opt KnownOptions) (*Known, error) {
	switch {
	case configured == NoKnown:
		return &Known{}, nil
	case configured != "":
		k, err := openKnown(ctx, configured, opt)
		if err != nil {
			return nil, err
		}
		return k, nil
	case recorded == "":
		return &Known{}, nil
	}
	src := Sibling(db, recorded)
	k, err := openKnown(ctx, src, opt)
	if err != nil {
		return &Known{Skipped: fmt.Errorf("known variants %s recorded in %s are unavailable: %w", src, db, err)}, nil
	}
	k.Recorded = true
	return k, nil
}

// Sibling resolves a source recorded in the database db: absolute paths
// and URIs stand as they are; a relative path is taken in the database's
// directory (or its remote "directory").
func Sibling(db, recorded string) string {
	if recorded == "" || IsRemote(recorded) || filepath.IsAbs(recorded) {
		return recorded
	}
	if IsRemote(db) {
		u, err := url.Parse(db)
		if err != nil {
			return recorded
		}
		u.Path = path.Join(path.Dir(u.Path), filepath.ToSlash(recorded))
		return u.String()
	}
	return filepath.Join(filepath.Dir(db), recorded)
}

func openKnown(ctx context.Context, src string, opt KnownOptions) (*Known, error) {
	k := &Known{Source: src, File: src}
	if IsRemote(src) {
		if err := k.download(ctx, opt); err != nil {
			k.Close()
			return nil, err
		}
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	file := k.File
	// Open once now: a missing, unreadable or malformed source (or an index
	// that does not fit it) stops start-up instead of failing every job.
	s, err := known.Open(file, known.Options{Logger: log})
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("known variants %s: %w", src, err)
	}
	_ = s.Close()
	k.Opener = func(ref known.Reference) (known.Matcher, error) {
		return known.Open(file, known.Options{Reference: ref, Logger: log})
	}
	return k, nil
}

// download copies a remote source and its .tbi into a fresh directory.
func (k *Known) download(ctx context.Context, opt KnownOptions) error {
	if err := checkURI(k.Source); err != nil {
		return fmt.Errorf("known variants: %w", err)
	}
	if opt.Remote == nil {
		return fmt.Errorf("known variants %s: %w", k.Source, ErrNoRemote)
	}
	dir, err := os.MkdirTemp(opt.Dir, "gas-known-")
	if err != nil {
		return fmt.Errorf("known variants %s: %w", k.Source, err)
	}
	k.tmp = dir
	name := path.Base(k.Source)
	if !strings.HasSuffix(name, ".gz") && !strings.HasSuffix(name, ".bgz") && !strings.HasSuffix(name, ".vcf") {
		name += ".vcf.gz"
	}
	k.File = filepath.Join(dir, name)
	if err := fetch(ctx, opt.Remote, k.Source, k.File); err != nil {
		return fmt.Errorf("known variants %s: %w", k.Source, err)
	}
	err = fetch(ctx, opt.Remote, k.Source+".tbi", k.File+".tbi")
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("known variants index %s.tbi: %w", k.Source, err)
	}
	// No index beside it: build one (BGZF sources), else read it by a
	// sorted merge.
	if ierr := known.EnsureIndex(k.File); ierr != nil {
		_ = os.Remove(k.File + ".tbi")
		log := opt.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("known variants have no .tbi index and none could be built; lookups scan the file in order",
			"source", k.Source, "err", ierr)
	}
	return nil
}

// fetch copies one remote object to a local file.
func fetch(ctx context.Context, remote Remote, uri, dst string) error {
	rc, err := remote.Open(ctx, uri)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("download %s: %w", uri, err)
	}
	return f.Close()
}
