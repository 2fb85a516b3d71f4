package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const annotated = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t100\trs1\tA\tG,T\t50\tPASS\tDP=3;ANN=G|missense_variant|MODERATE|ABC|G1|transcript|T1|protein_coding|2/5|c.5A>G|p.Lys2Arg|20/900|5/600|2/199||,T|upstream_gene_variant|MODIFIER|ABC|G1|transcript|T2|lncRNA|||||||1200|\n" +
	"chr1\t200\t.\tC\t.\t.\t.\t.\n"

func TestToTSV(t *testing.T) {
	var out bytes.Buffer
	if err := ToTSV(strings.NewReader(annotated), &out); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(rows) != 4 {
		t.Fatalf("%d rows:\n%s", len(rows), out.String())
	}
	if rows[0] != strings.Join(Columns, "\t") {
		t.Fatalf("header %q", rows[0])
	}
	want := "chr1\t100\trs1\tA\tG,T\t50\tPASS\tG\tmissense_variant\tMODERATE\tABC\tG1\ttranscript\tT1\tprotein_coding\t2/5\tc.5A>G\tp.Lys2Arg\t20/900\t5/600\t2/199\t\t"
	if rows[1] != want {
		t.Fatalf("row 1\n got %q\nwant %q", rows[1], want)
	}
	for _, r := range rows {
		if n := strings.Count(r, "\t"); n != len(Columns)-1 {
			t.Fatalf("row has %d tabs: %q", n, r)
		}
	}
}

func TestToJSON(t *testing.T) {
	var out bytes.Buffer
	if err := ToJSON(strings.NewReader(annotated), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Pos != 100 || len(r.Alt) != 2 || len(r.Annotations) != 2 || r.Annotations[0].HGVSp != "p.Lys2Arg" ||
		r.Annotations[1].Distance == nil || *r.Annotations[1].Distance != 1200 {
		t.Fatalf("%+v", r)
	}
	if err := ToJSON(strings.NewReader("chr1\t1\n"), &out); err == nil {
		t.Fatal("malformed input accepted")
	}
}
