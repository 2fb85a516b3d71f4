package engine

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/vartable"
)

// recordingSink keeps what the engine hands the variant table.
type recordingSink struct {
	voc     *vartable.Vocabulary
	header  int64
	lines   []vartable.Line
	entries []vartable.Entry
}

func (s *recordingSink) Start(v *vartable.Vocabulary, header int64) error {
	s.voc, s.header = v, header
	return nil
}

func (s *recordingSink) Lines(lines []vartable.Line, entries []vartable.Entry) error {
	for _, l := range lines {
		l.Chrom = bytes.Clone(l.Chrom)
		s.lines = append(s.lines, l)
	}
	s.entries = append(s.entries, entries...)
	return nil
}

// TestTheTableIsWhatWasWritten: over many batches (one worker, so batches
// are reused), every written data line reaches the table once, at its
// offset in the output, with one row per ANN entry of each allele, in
// order, and their codes are the entries' own.
func TestTheTableIsWhatWasWritten(t *testing.T) {
	ref, files := smallRef(t)
	vcf, err := os.ReadFile(files.Variants)
	if err != nil {
		t.Fatal(err)
	}
	for len(vcf) < 40*batchSize { // many times the batches in flight
		g, err := synth.New(synth.Small())
		if err != nil {
			t.Fatal(err)
		}
		var more bytes.Buffer
		if _, err := g.WriteVariants(&more, synth.VariantOptions{}); err != nil {
			t.Fatal(err)
		}
		body := more.Bytes()[bytes.Index(more.Bytes(), []byte("\n#CHROM")):]
		vcf = append(vcf, body[bytes.IndexByte(body[1:], '\n')+2:]...)
	}
	e, err := New(ref, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{}
	var out bytes.Buffer
	sum, err := e.AnnotateJob(context.Background(), bytes.NewReader(vcf), &out, Job{Table: sink})
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if int64(len(sink.lines)) != sum.Records || int64(len(sink.entries)) != sum.Rows || sum.Rows <= sum.Variants {
		t.Fatalf("table: %d lines, %d rows; summary %d records, %d rows", len(sink.lines), len(sink.entries), sum.Records, sum.Rows)
	}
	if last := text[:sink.header-1]; !strings.HasSuffix(text[:sink.header], "\n") || !strings.HasPrefix(last[strings.LastIndexByte(last, '\n')+1:], "#CHROM") {
		t.Fatalf("header length %d", sink.header)
	}
	entries := sink.entries
	next := sink.header
	for _, l := range sink.lines {
		if l.Offset != next || text[l.Offset+int64(l.Length)] != '\n' {
			t.Fatalf("line at %d, expected one at %d", l.Offset, next)
		}
		line := text[l.Offset : l.Offset+int64(l.Length)]
		cols := strings.Split(line, "\t")
		ann := strings.Split(strings.SplitN(cols[7], "ANN=", 2)[1], ";")[0]
		anns := strings.Split(ann, ",")
		if cols[0] != string(l.Chrom) || len(anns) != l.Entries {
			t.Fatalf("line at %d: %s with %d entries, the table says %s with %d", l.Offset, cols[0], len(anns), l.Chrom, l.Entries)
		}
		for k, a := range anns {
			en := entries[k]
			f := strings.Split(a, "|")
			gene := ""
			if en.Gene >= 0 {
				gene = sink.voc.Genes[en.Gene]
			}
			var terms []string
			for i, n := range sink.voc.Terms {
				if en.Terms&(1<<i) != 0 {
					terms = append(terms, n)
				}
			}
			if int(en.Ann) != k || strings.Join(terms, "&") != f[1] || en.Impact.String() != f[2] || gene != f[3] ||
				strings.Split(cols[4], ",")[en.Allele] != f[0] || (en.Tags&vartable.TagCanonical != 0) != strings.Contains(f[15], "INFO_CANONICAL") {
				t.Fatalf("line at %d entry %d: %q, the table says %+v", l.Offset, k, a, en)
			}
		}
		entries = entries[len(anns):]
		next = l.Offset + int64(l.Length) + 1
	}
}
