package reference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/synth"
)

// fakeRemote serves objects from memory and counts reads.
type fakeRemote struct {
	mu      sync.Mutex
	objects map[string][]byte
	reads   map[string]int
}

func (f *fakeRemote) Open(_ context.Context, uri string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[uri]
	if !ok {
		return nil, fmt.Errorf("%s: %w", uri, fs.ErrNotExist)
	}
	if f.reads == nil {
		f.reads = map[string]int{}
	}
	f.reads[uri]++
	return io.NopCloser(bytes.NewReader(b)), nil
}

// fixture is a small synthetic reference: a database recording known (a
// path relative to it), the BGZF known-variants VCF with its index, and
// the variants whose answer key says how many alleles are known.
type fixture struct {
	dir, db, known string
	variants       []byte
	wantKnown      int64
}

func newFixture(t *testing.T, recorded string) fixture {
	t.Helper()
	dir := t.TempDir()
	files, err := synth.WriteFiles(dir, synth.Small(), synth.FileOptions{Known: true, Truth: true})
	if err != nil {
		t.Fatal(err)
	}
	gff, _ := os.Open(files.GFF3)
	defer gff.Close()
	fa, _ := os.Open(files.FASTA)
	defer fa.Close()
	ref, err := engine.BuildReference(engine.Sources{Name: "fixture", Genes: gff, Format: engine.GFF3, FASTA: fa})
	if err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if err := gasdb.Write(&db, ref, gasdb.Meta{Known: recorded}); err != nil {
		t.Fatal(err)
	}
	f := fixture{dir: dir, db: filepath.Join(dir, "ref.gasdb"), known: files.Known}
	if err := os.WriteFile(f.db, db.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	truth, _ := os.ReadFile(files.Truth)
	for line := range strings.Lines(string(truth)) {
		if cols := strings.Split(line, "\t"); len(cols) == 6 && cols[4] != "." {
			f.wantKnown++
		}
	}
	f.variants, _ = os.ReadFile(files.Variants)
	return f
}

// annotate runs the engine over the fixture's variants.
func (f fixture) annotate(t *testing.T, l *Loaded) (known int64, out string) {
	t.Helper()
	var b bytes.Buffer
	sum, err := l.Engine.Annotate(context.Background(), bytes.NewReader(f.variants), &b)
	if err != nil {
		t.Fatal(err)
	}
	return sum.Known, b.String()
}

func TestSibling(t *testing.T) {
	for _, c := range []struct{ db, rec, want string }{
		{"/data/ref.gasdb", "known.vcf.gz", "/data/known.vcf.gz"},
		{"data/ref.gasdb", "sub/known.vcf.gz", "data/sub/known.vcf.gz"},
		{"/data/ref.gasdb", "/elsewhere/k.vcf.gz", "/elsewhere/k.vcf.gz"},
		{"s3://bucket/refs/grch38.gasdb", "dbsnp.vcf.gz", "s3://bucket/refs/dbsnp.vcf.gz"},
		{"s3://bucket/grch38.gasdb", "k/dbsnp.vcf.gz", "s3://bucket/k/dbsnp.vcf.gz"},
		{"s3://bucket/refs/grch38.gasdb", "/build/host/dbsnp.vcf.gz", "/build/host/dbsnp.vcf.gz"},
		{"/data/ref.gasdb", "s3://other/k.vcf.gz", "s3://other/k.vcf.gz"},
		{"/data/ref.gasdb", "", ""},
	} {
		if got := Sibling(c.db, c.rec); got != c.want {
			t.Errorf("Sibling(%q, %q) = %q, want %q", c.db, c.rec, got, c.want)
		}
	}
}

// TestOpenChoosesKnownSource: the configured source wins, "none" turns it
// off, otherwise the database's recorded one (relative: next to it) is
// used, and a recorded one that is gone is skipped with the reason.
func TestOpenChoosesKnownSource(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "known.vcf.gz") // synth writes known.vcf.gz beside ref.gasdb

	l, err := Open(ctx, Config{DB: f.db, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Known.Source != f.known || !l.Known.Recorded || l.Known.Skipped != nil {
		t.Fatalf("recorded source: %+v", l.Known)
	}
	n, out := f.annotate(t, l)
	if n != f.wantKnown || !strings.Contains(out, "KNOWN_AF=") || !strings.Contains(out, "\trs") {
		t.Fatalf("recorded source: %d known alleles, answer key %d", n, f.wantKnown)
	}

	off, err := Open(ctx, Config{DB: f.db, Known: NoKnown, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n, out := f.annotate(t, off); n != 0 || off.Known.Source != "" || strings.Contains(out, "KNOWN_AF") {
		t.Fatalf("none: %d known, source %q", n, off.Known.Source)
	}

	// A configured source wins over the recorded one.
	other := filepath.Join(t.TempDir(), "other.vcf.gz")
	b, _ := os.ReadFile(f.known)
	os.WriteFile(other, b, 0o644)
	l2, err := Open(ctx, Config{DB: f.db, Known: other, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l2.Known.Source != other || l2.Known.Recorded {
		t.Fatalf("configured source: %+v", l2.Known)
	}
	if n, _ := f.annotate(t, l2); n != f.wantKnown {
		t.Fatalf("configured (unindexed) source: %d known, want %d", n, f.wantKnown)
	}

	// A configured source that cannot be used is an error...
	if _, err := Open(ctx, Config{DB: f.db, Known: filepath.Join(f.dir, "missing.vcf.gz")}); err == nil {
		t.Fatal("missing configured source accepted")
	}
	plain := filepath.Join(t.TempDir(), "plain.vcf")
	os.WriteFile(plain, []byte("##fileformat=VCFv4.2\n"), 0o644)
	os.WriteFile(plain+".tbi", []byte("not an index"), 0o644)
	if _, err := Open(ctx, Config{DB: f.db, Known: plain}); err == nil {
		t.Fatal("a source with a broken index accepted")
	}
	// ...a recorded one that is gone is skipped with the reason.
	os.Rename(f.known, f.known+".moved")
	l3, err := Open(ctx, Config{DB: f.db, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l3.Known.Source != "" || l3.Known.Skipped == nil || !strings.Contains(l3.Known.Skipped.Error(), f.known) {
		t.Fatalf("missing recorded source: %+v", l3.Known)
	}
	if n, _ := f.annotate(t, l3); n != 0 {
		t.Fatalf("%d known without a source", n)
	}
	if _, err := Open(ctx, Config{DB: filepath.Join(f.dir, "missing.gasdb")}); err == nil {
		t.Fatal("missing database accepted")
	}
}

// TestOpenRemote: a remote database streams; a remote known-variants
// source (configured, or recorded relative to the database) is downloaded
// once with its .tbi, or indexed locally when the bucket has none; Close
// removes the copy.
func TestOpenRemote(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "dbsnp.vcf.gz")
	dbBytes, _ := os.ReadFile(f.db)
	knownBytes, _ := os.ReadFile(f.known)
	noIndex := &fakeRemote{objects: map[string][]byte{
		"s3://refs/grch/ref.gasdb":    dbBytes,
		"s3://refs/grch/dbsnp.vcf.gz": knownBytes,
	}}
	dl := t.TempDir()
	l, err := Open(ctx, Config{DB: "s3://refs/grch/ref.gasdb", Remote: noIndex, Dir: dl, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.Known.Source != "s3://refs/grch/dbsnp.vcf.gz" || !l.Known.Recorded || !strings.HasPrefix(l.Known.File, dl) {
		t.Fatalf("remote recorded source: %+v", l.Known)
	}
	if _, err := os.Stat(l.Known.File + ".tbi"); err != nil {
		t.Fatalf("no index built for a source without one: %v", err)
	}
	for range 2 {
		if n, _ := f.annotate(t, l); n != f.wantKnown {
			t.Fatalf("remote source: %d known, want %d", n, f.wantKnown)
		}
	}
	if noIndex.reads["s3://refs/grch/dbsnp.vcf.gz"] != 1 {
		t.Fatalf("known source read %d times, want once", noIndex.reads["s3://refs/grch/dbsnp.vcf.gz"])
	}
	file := l.Known.File
	l.Close()
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("downloaded copy left after Close: %v", err)
	}
	if left, _ := os.ReadDir(dl); len(left) != 0 {
		t.Fatalf("download directory not cleaned: %v", left)
	}

	// A configured remote source with its index in the bucket.
	tbi := filepath.Join(t.TempDir(), "k.vcf.gz")
	os.WriteFile(tbi, knownBytes, 0o644)
	if err := known.EnsureIndex(tbi); err != nil {
		t.Fatal(err)
	}
	tbiBytes, _ := os.ReadFile(tbi + ".tbi")
	withIndex := &fakeRemote{objects: map[string][]byte{
		"s3://refs/ref.gasdb":                 dbBytes,
		"s3://variants/dbsnp-b156.vcf.gz":     knownBytes,
		"s3://variants/dbsnp-b156.vcf.gz.tbi": tbiBytes,
	}}
	l2, err := Open(ctx, Config{DB: "s3://refs/ref.gasdb", Known: "s3://variants/dbsnp-b156.vcf.gz", Remote: withIndex, Dir: dl, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if withIndex.reads["s3://variants/dbsnp-b156.vcf.gz.tbi"] != 1 || l2.Known.Recorded {
		t.Fatalf("index not downloaded with the source: %v", withIndex.reads)
	}
	if n, _ := f.annotate(t, l2); n != f.wantKnown {
		t.Fatalf("remote configured source: %d known, want %d", n, f.wantKnown)
	}

	// The database recorded a source that is not in the bucket: skipped.
	missing := &fakeRemote{objects: map[string][]byte{"s3://refs/grch/ref.gasdb": dbBytes}}
	l3, err := Open(ctx, Config{DB: "s3://refs/grch/ref.gasdb", Remote: missing, Dir: dl})
	if err != nil {
		t.Fatal(err)
	}
	if l3.Known.Skipped == nil || !errors.Is(l3.Known.Skipped, fs.ErrNotExist) {
		t.Fatalf("missing recorded remote source: %+v", l3.Known)
	}
	l3.Close()
	if left, _ := os.ReadDir(dl); len(left) != 1 { // l2's copy only
		t.Fatalf("a failed download left files: %v", left)
	}

	for _, c := range []Config{
		{DB: "s3://refs/grch/ref.gasdb"},                             // no remote
		{DB: f.db, Known: "s3://variants/dbsnp-b156.vcf.gz"},         // no remote
		{DB: "s3://bucket-only", Remote: withIndex},                  // no key
		{DB: "s3:///key", Remote: withIndex},                         // no bucket
		{DB: "s3://refs/absent.gasdb", Remote: withIndex},            // absent
		{DB: f.db, Known: "s3://variants/absent", Remote: withIndex}, // absent configured source
	} {
		if l, err := Open(ctx, c); err == nil {
			l.Close()
			t.Errorf("%+v accepted", c)
		}
	}
}

// An annotator left to choose runs one engine goroutine more than the
// Go processors (JobWorkers), and its results' logs say how many; a number given
// is kept.
func TestJobWorkersDefaultToOneMoreThanTheProcessors(t *testing.T) {
	if got, want := JobWorkers(0), runtime.GOMAXPROCS(0)+1; got != want {
		t.Errorf("JobWorkers(0) = %d, want %d", got, want)
	}
	if got := JobWorkers(5); got != 5 {
		t.Errorf("JobWorkers(5) = %d", got)
	}
	l := &Loaded{Known: &Known{}, workers: JobWorkers(0)}
	var got string
	for _, s := range l.Provenance().Settings {
		if s.Name == "Engine goroutines per job" {
			got = s.Value
		}
	}
	if want := fmt.Sprint(runtime.GOMAXPROCS(0) + 1); got != want {
		t.Errorf("provenance says %q engine goroutines, want %s", got, want)
	}
}
