package results_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

var keys = domain.ResultKeys{VCF: "r/a.vcf", Index: "r/a.idx", Summary: "r/s.json", Log: "r/s.log"}

// synthetic is the engine over the synthetic small reference (with its
// known variants), named name, and the reference's variants VCF.
func synthetic(t *testing.T, name string) (*engine.Engine, []byte) {
	t.Helper()
	files, err := synth.WriteFiles(t.TempDir(), synth.Small(), synth.FileOptions{Known: true})
	if err != nil {
		t.Fatal(err)
	}
	open := func(p string) *os.File {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	ref, err := engine.BuildReference(engine.Sources{Name: name, Genes: open(files.GFF3), FASTA: open(files.FASTA)})
	if err != nil {
		t.Fatal(err)
	}
	if err := known.EnsureIndex(files.Known); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(ref, engine.Options{Workers: 2, Known: func(r known.Reference) (known.Matcher, error) {
		return known.Open(files.Known, known.Options{Reference: r})
	}})
	if err != nil {
		t.Fatal(err)
	}
	vcf, err := os.ReadFile(files.Variants)
	if err != nil {
		t.Fatal(err)
	}
	return e, vcf
}

func store(t *testing.T, input []byte) *memory.ObjectStore {
	t.Helper()
	objects, err := memory.NewObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objects.Put(context.Background(), "in", bytes.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	return objects
}

func get(t *testing.T, objects ports.ObjectStore, key string) []byte {
	t.Helper()
	rc, err := objects.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openIndex(t *testing.T, objects ports.ObjectStore, key string) *vartable.Index {
	t.Helper()
	info, err := objects.Head(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := vartable.Open(context.Background(), ranger(objects, key), info.Size)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func ranger(objects ports.ObjectStore, key string) vartable.Ranger {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		return objects.GetRange(ctx, key, off, n)
	}
}

// wrongReference are records a wrong reference would produce: a
// chromosome it lacks, a position past the end, a REF it disagrees with
// (the synthetic chr1 has 300,000 bases).
const wrongReference = "chrUn\t5\t.\tA\tG\t.\t.\t.\nchr1\t300001\t.\tA\tG\t.\t.\t.\n"

// TestTheTableIsTheSummaryIsTheExport annotates the synthetic sample as a
// job and checks the unit is one everywhere: the index's rows are the
// summary's rows and alleles, every chart count (per row, and per allele
// for the one-row-per-allele view) is the index's count for that value,
// and exporting the unfiltered table gives the whole-result TSV byte for
// byte.
func TestTheTableIsTheSummaryIsTheExport(t *testing.T) {
	eng, vcf := synthetic(t, "synthetic")
	vcf = append(vcf, wrongReference...)
	objects := store(t, vcf)
	a, err := results.New(objects, results.Engines{eng}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	sum := out.Summary
	if out.Keys != keys || out.Reference != "synthetic" || sum.Unit != domain.RowUnit || sum.Rows <= sum.Variants {
		t.Fatalf("annotated %+v", out)
	}
	ix := openIndex(t, objects, keys.Index)
	if ix.Len() != sum.Rows || ix.Alleles() != sum.Variants {
		t.Fatalf("index: %d rows, %d alleles; summary %d rows, %d alleles", ix.Len(), ix.Alleles(), sum.Rows, sum.Variants)
	}
	for _, c := range []struct {
		facet            vartable.Facet
		rows, mostSevere map[string]int64
	}{
		{vartable.FacetConsequence, sum.ByConsequence, sum.MostSevere.ByConsequence},
		{vartable.FacetImpact, sum.ByImpact, sum.MostSevere.ByImpact},
		{vartable.FacetWarning, sum.ByWarning, sum.MostSevere.ByWarning},
	} {
		got, gotMS := map[string]int64{}, map[string]int64{}
		for _, v := range ix.Values(c.facet) {
			got[v.Value], gotMS[v.Value] = v.Count, v.Alleles
		}
		if fmt.Sprint(got) != fmt.Sprint(c.rows) || fmt.Sprint(gotMS) != fmt.Sprint(c.mostSevere) {
			t.Errorf("%s: index %v / %v, summary %v / %v", c.facet, got, gotMS, c.rows, c.mostSevere)
		}
	}
	if sum.UnknownChromosome != 1 || sum.PastChromosomeEnd != 1 || sum.ByWarning["ERROR_CHROMOSOME_NOT_FOUND"] != 1 ||
		sum.ByWarning["ERROR_OUT_OF_CHROMOSOME_RANGE"] != 1 {
		t.Errorf("warnings: %+v / %+v", sum.ByWarning, sum)
	}
	var whole, table bytes.Buffer
	if err := export.Convert(bytes.NewReader(get(t, objects, keys.VCF)), &whole, export.TSV); err != nil {
		t.Fatal(err)
	}
	if err := ix.Export(context.Background(), ranger(objects, keys.VCF), vartable.Filter{}, vartable.SortPosition, false, &table, export.TSV); err != nil {
		t.Fatal(err)
	}
	if whole.String() != table.String() {
		t.Fatalf("the unfiltered table's export differs from the whole result's (%d vs %d bytes)", table.Len(), whole.Len())
	}
	if n := int64(strings.Count(whole.String(), "\n")) - 1; n != sum.Rows {
		t.Fatalf("the TSV has %d rows, the summary %d", n, sum.Rows)
	}
}

// TestGeneFilterFindsAnyTranscript (issue 13, item 2): an allele the TSV
// lists as downstream of G00002 but whose most severe row is in another
// gene is found by ?gene=G00002, in the per-transcript view by that row
// and in the one-row-per-allele view by its most severe G00002 row.
func TestGeneFilterFindsAnyTranscript(t *testing.T) {
	eng, vcf := synthetic(t, "synthetic")
	objects := store(t, vcf)
	a, err := results.New(objects, results.Engines{eng}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys}); err != nil {
		t.Fatal(err)
	}
	// the alleles the TSV lists as downstream of G00002 whose first
	// (most severe) row is another gene's
	type allele struct{ pos, alt string }
	first := map[allele]string{}
	var wanted []allele
	if err := export.Convert(bytes.NewReader(get(t, objects, keys.VCF)), io.Discard, export.TSV); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(get(t, objects, keys.VCF)), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if err := export.Rows([]byte(line), -1, func(r *export.Row) error {
			k := allele{r.Pos, r.Alt}
			if _, ok := first[k]; !ok {
				first[k] = r.Ann[3]
			}
			if r.Ann[3] == "G00002" && r.Ann[1] == "downstream_gene_variant" && first[k] != "G00002" {
				wanted = append(wanted, k)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(wanted) == 0 {
		t.Fatal("the synthetic sample has no allele downstream of G00002 with its most severe row elsewhere")
	}
	ix := openIndex(t, objects, keys.Index)
	for _, ms := range []bool{false, true} {
		p, err := ix.Query(context.Background(), vartable.Query{Filter: vartable.Filter{Gene: "G00002", MostSevere: ms}, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := vartable.ReadRows(context.Background(), ranger(objects, keys.VCF), p.Variants)
		if err != nil {
			t.Fatal(err)
		}
		found := map[allele]bool{}
		for _, r := range rows {
			if r.Gene != "G00002" {
				t.Fatalf("gene filter showed a row of %s", r.Gene)
			}
			found[allele{r.Fields.Pos, r.Alt}] = true
		}
		for _, k := range wanted {
			if !found[k] {
				t.Errorf("most severe only %v: ?gene=G00002 misses %v, downstream of G00002", ms, k)
			}
		}
	}
}

// TestSkipMalformedLines (item 7): by default one bad line fails the job
// with its line number; with the option the job completes, and the line
// and its reason are in the summary and the log.
func TestSkipMalformedLines(t *testing.T) {
	eng, vcf := synthetic(t, "synthetic")
	records := bytes.Count(vcf, []byte("\n")) - bytes.Count(vcf, []byte("\n#")) - 1
	bad := append(bytes.Clone(vcf), "chr1\tnot-a-position\t.\tA\tG\t.\t.\t.\n"...)
	line := bytes.Count(bad, []byte("\n"))
	objects := store(t, bad)
	a, err := results.New(objects, results.Engines{eng}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys})
	if !errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), fmt.Sprintf("line %d:", line)) {
		t.Fatalf("bad line without the option: %v", err)
	}
	out, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Options: domain.JobOptions{SkipMalformed: true}})
	if err != nil {
		t.Fatal(err)
	}
	reason := fmt.Sprintf("line %d: POS \"not-a-position\" is not a position", line)
	if out.Summary.Skipped != 1 || len(out.Summary.SkippedLines) != 1 || out.Summary.SkippedLines[0] != reason ||
		out.Summary.Records != int64(records) {
		t.Fatalf("summary: skipped %d %q, %d records", out.Summary.Skipped, out.Summary.SkippedLines, out.Summary.Records)
	}
	log := string(get(t, objects, keys.Log))
	if !strings.Contains(log, "Malformed lines:      skip them") || !strings.Contains(log, reason) {
		t.Fatalf("log:\n%s", log)
	}
}

// TestJobsGoToTheirReference: an annotator holding two databases lists
// them default first, annotates a job against the one it names (or the
// default), and refuses a name it lacks as the job's problem.
func TestJobsGoToTheirReference(t *testing.T) {
	a37, vcf := synthetic(t, "GRCh37-like")
	a38, _ := synthetic(t, "GRCh38-like")
	objects := store(t, vcf)
	a, err := results.New(objects, results.Engines{a38, a37}, results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.References(); fmt.Sprint(got) != "[GRCh38-like GRCh37-like]" {
		t.Fatalf("references %v", got)
	}
	for ref, want := range map[string]string{"": "GRCh38-like", "GRCh37-like": "GRCh37-like", "GRCh38-like": "GRCh38-like"} {
		out, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Options: domain.JobOptions{Reference: ref}})
		if err != nil || out.Reference != want || out.Summary.Reference != want {
			t.Fatalf("reference %q: annotated against %q (summary %q): %v", ref, out.Reference, out.Summary.Reference, err)
		}
	}
	_, err = a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys, Options: domain.JobOptions{Reference: "hg19"}})
	if !errors.Is(err, ports.ErrBadInput) || !errors.Is(err, ports.ErrUnknownReference) || !strings.Contains(err.Error(), "GRCh38-like, GRCh37-like") {
		t.Fatalf("unknown reference: %v", err)
	}
	if _, err := results.New(objects, results.Engines{a37, a37}, results.Options{}); err == nil {
		t.Fatal("two databases of one name were accepted")
	}
}

// copying annotates by copying; input starting with "bad" is the user's fault.
type copying struct{}

func (copying) Reference() string { return "copy" }

func (copying) AnnotateJob(_ context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return domain.Summary{}, err
	}
	if strings.HasPrefix(string(b), "bad") {
		return domain.Summary{}, fmt.Errorf("%w: line 1: not a VCF", ports.ErrBadInput)
	}
	if err := job.Table.Start(&vartable.Vocabulary{}, int64(len(b))); err != nil {
		return domain.Summary{}, err
	}
	if _, err = out.Write(b); err != nil {
		return domain.Summary{}, err
	}
	if strings.HasPrefix(string(b), "huge") { // a line with more annotations than a row can name
		err := job.Table.Lines([]vartable.Line{{Chrom: []byte("chr1"), Pos: 1, Length: len(b), Entries: 1}}, []vartable.Entry{{Ann: vartable.MaxLineRows + 1}})
		return domain.Summary{}, fmt.Errorf("variant table: %w", err)
	}
	return domain.Summary{}, nil
}

// failingPuts fails every Put of keys containing substr.
type failingPuts struct {
	ports.ObjectStore
	substr string
}

func (f failingPuts) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	if strings.Contains(key, f.substr) {
		return ports.ObjectInfo{}, errors.New("disk full")
	}
	return f.ObjectStore.Put(ctx, key, r)
}

func TestFailuresSayWhoseFaultAndWhere(t *testing.T) {
	objects := store(t, []byte("bad input\n"))
	a, _ := results.New(objects, results.Engines{copying{}}, results.Options{})
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys}); !errors.Is(err, ports.ErrBadInput) ||
		strings.HasPrefix(err.Error(), "annotate") {
		t.Errorf("bad input: %v", err)
	}
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "absent", Keys: keys}); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("missing input: %v", err)
	}
	a, _ = results.New(store(t, []byte("huge line\n")), results.Engines{copying{}}, results.Options{})
	if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys}); !errors.Is(err, ports.ErrBadInput) ||
		!strings.HasPrefix(err.Error(), "bad input: line too large for the variant table: the line at chr1:1 has 65537 annotations") {
		t.Errorf("a line too large for the table: %v", err)
	}
	for substr, want := range map[string]string{".idx": "store index: disk full", ".vcf": "store result: disk full", "s.json": "store summary: disk full",
		"s.log": "store log: disk full"} {
		a, _ := results.New(failingPuts{store(t, []byte("##fileformat=VCFv4.2\n")), substr}, results.Engines{copying{}}, results.Options{})
		if _, err := a.Annotate(context.Background(), ports.AnnotationRequest{Input: "in", Keys: keys}); err == nil ||
			errors.Is(err, ports.ErrBadInput) || !strings.Contains(err.Error(), want) {
			t.Errorf("failing %s: %v, want %q", substr, err, want)
		}
	}
}
