package gff

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/model"
)

// retagged reads a real chr21 file and adds selection tags to the
// transcript lines of the given transcripts, spelled as each flavour writes
// them (Ensembl 113 GFF3: tag=basic,Ensembl_canonical,MANE_Select; GTF: one
// tag "..." per tag; NCBI: "MANE Select", "RefSeq Select"), then parses it.
func retagged(t *testing.T, name string, gtf bool, tags map[string][]string) *model.Reference {
	t.Helper()
	f, err := os.Open(chr21 + name)
	if err != nil {
		t.Skipf("skipping: %v (shared test data sits beside the checkout)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	idOf := regexp.MustCompile(`ID=transcript:([^;]+)`)
	if gtf {
		idOf = regexp.MustCompile(`transcript_id "([^"]+)"`)
	}
	var out strings.Builder
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		cols := strings.Split(line, "\t")
		m := idOf.FindStringSubmatch(line)
		if len(cols) == 9 && m != nil && (!gtf || cols[2] == "transcript") && strings.Contains(cols[8], "ID=transcript:") == !gtf {
			if ts := tags[m[1]]; len(ts) > 0 {
				switch {
				case gtf:
					for _, tag := range ts {
						cols[8] += fmt.Sprintf(" tag %q;", tag)
					}
				case strings.Contains(cols[8], "tag="):
					enc := strings.ReplaceAll(strings.Join(ts, ","), " ", "%20")
					cols[8] = strings.Replace(cols[8], "tag=", "tag="+enc+",", 1)
				default:
					cols[8] += ";tag=" + strings.ReplaceAll(strings.Join(ts, ","), " ", "%20")
				}
				line = strings.Join(cols, "\t")
			}
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	b := model.NewBuilder()
	read := ReadGFF3
	if gtf {
		read = ReadGTF
	}
	if err := read(strings.NewReader(out.String()), b, Options{}); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Build(name)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// flagged lists the transcripts marked canonical ("C") or MANE Select ("M").
func flagged(ref *model.Reference) map[string]string {
	out := map[string]string{}
	for i := range ref.Transcripts {
		tr := &ref.Transcripts[i]
		s := ""
		if tr.Canonical() {
			s += "C"
		}
		if tr.MANESelect() {
			s += "M"
		}
		if s != "" {
			out[tr.ID] = s
		}
	}
	return out
}

// TestSelectionTagsOnEnsemblChr21 reads canonical and MANE Select tags
// from the real Ensembl chr21 GFF3 and GTF. Release 84 predates both tags
// (Ensembl added them in release 104), so as published no transcript is
// marked; with the tags written into the same files the way later
// releases and RefSeq write them, exactly the tagged transcripts are, and
// GFF3 and GTF agree.
func TestSelectionTagsOnEnsemblChr21(t *testing.T) {
	for _, name := range []string{"genes.gff3.gz", "genes.gtf.gz"} {
		if got := flagged(readGz(t, name, strings.Contains(name, "gtf"))); len(got) != 0 {
			t.Fatalf("%s as published: %d transcripts marked, want none: %v", name, len(got), got)
		}
	}
	gtf := readGz(t, "genes.gtf.gz", true)
	// four real transcripts of the GTF (which the GFF3 has too), each
	// tagged in another spelling
	var ids []string
	for i := range gtf.Transcripts {
		if gtf.Transcripts[i].Coding() && len(ids) < 4 {
			ids = append(ids, gtf.Transcripts[i].ID)
		}
	}
	if len(ids) < 4 {
		t.Fatalf("only %d coding transcripts in the GTF", len(ids))
	}
	tags := map[string][]string{
		ids[0]: {"Ensembl_canonical", "GENCODE_Primary", "MANE_Select"},
		ids[1]: {"Ensembl_canonical"},
		ids[2]: {"MANE Select"},
		ids[3]: {"RefSeq Select"},
	}
	want := map[string]string{ids[0]: "CM", ids[1]: "C", ids[2]: "CM", ids[3]: "C"}
	for _, name := range []string{"genes.gff3.gz", "genes.gtf.gz"} {
		got := flagged(retagged(t, name, strings.Contains(name, "gtf"), tags))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s retagged: marked %v, want %v", name, got, want)
		}
	}
	// the tags that were there before still count: basic and CCDS are
	// not selection tags; cds_start_NF still marks the CDS incomplete
	for i := range gtf.Transcripts {
		tr := &gtf.Transcripts[i]
		if tr.Flags&model.FlagStartIncomplete != 0 {
			return
		}
	}
	t.Error("no GTF transcript kept its cds_start_NF flag")
}
