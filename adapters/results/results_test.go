package results_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// echo annotates by copying; input starting with "bad" is the user's fault.
type echo struct{}

func (echo) Reference() string { return "echo" }

func (echo) Annotate(_ context.Context, in io.Reader, out io.Writer) (domain.Summary, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return domain.Summary{}, err
	}
	if strings.HasPrefix(string(b), "bad") {
		return domain.Summary{}, fmt.Errorf("%w: line 1: not a VCF", ports.ErrBadInput)
	}
	_, err = out.Write(b)
	return domain.Summary{Records: int64(strings.Count(string(b), "\n")) - 2}, err
}

const vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t10\t.\tA\tG\t.\t.\tANN=G|missense_variant|MODERATE|G1|G1|transcript|T1|protein_coding|1/1|c.1A>G|p.M1V|1/9|1/9|1/3||\n"

var keys = domain.ResultKeys{VCF: "r/a.vcf", Index: "r/a.idx", Summary: "r/s.json", Log: "r/s.log"}

func setup(t *testing.T, input string, indexer results.Indexer) (*memory.ObjectStore, *results.Annotator) {
	t.Helper()
	objects, err := memory.NewObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objects.Put(context.Background(), "in", strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	a, err := results.New(objects, echo{}, indexer)
	if err != nil {
		t.Fatal(err)
	}
	return objects, a
}

func TestStoresEveryResultObject(t *testing.T) {
	objects, a := setup(t, vcf, vartable.NewIndexer())
	out, err := a.Annotate(context.Background(), "in", keys, domain.InputLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Keys != keys || out.Summary.Records != 1 {
		t.Fatalf("annotated %+v", out)
	}
	for _, k := range []string{keys.VCF, keys.Index, keys.Summary, keys.Log} {
		if _, err := objects.Head(context.Background(), k); err != nil {
			t.Errorf("%s not stored: %v", k, err)
		}
	}
	if s, err := results.ReadSummary(context.Background(), objects, keys.Summary); err != nil || s.Records != 1 {
		t.Fatalf("summary read back %+v: %v", s, err)
	}
}

func TestWithoutIndexerNoIndexKey(t *testing.T) {
	objects, a := setup(t, vcf, nil)
	out, err := a.Annotate(context.Background(), "in", keys, domain.InputLimits{})
	if err != nil || out.Keys.Index != "" {
		t.Fatalf("keys %+v: %v", out.Keys, err)
	}
	if _, err := objects.Head(context.Background(), keys.Index); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("index stored without an indexer: %v", err)
	}
}

type failingIndexer struct{}

func (failingIndexer) Index(context.Context, io.Reader, io.Writer) error {
	return errors.New("index disk full")
}

func TestFailuresSayWhoseFaultAndWhere(t *testing.T) {
	_, a := setup(t, "bad input\n", vartable.NewIndexer())
	if _, err := a.Annotate(context.Background(), "in", keys, domain.InputLimits{}); !errors.Is(err, ports.ErrBadInput) ||
		strings.HasPrefix(err.Error(), "annotate") {
		t.Errorf("bad input: %v", err)
	}
	if _, err := a.Annotate(context.Background(), "absent", keys, domain.InputLimits{}); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("missing input: %v", err)
	}
	_, a = setup(t, vcf, failingIndexer{})
	if _, err := a.Annotate(context.Background(), "in", keys, domain.InputLimits{}); err == nil || errors.Is(err, ports.ErrBadInput) ||
		!strings.Contains(err.Error(), "index result: index disk full") {
		t.Errorf("indexer failure: %v", err)
	}
}
