package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const annotated = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t100\trs1\tA\tG,T\t50\tPASS\tDP=3;ANN=G|missense_variant|MODERATE|ABC|G1|transcript|T1|protein_coding|2/5|c.5A>G|p.Lys2Arg|20/900|5/600|2/199||INFO_CANONICAL&INFO_MANE_SELECT,T|upstream_gene_variant|MODIFIER|ABC|G1|transcript|T2|lncRNA|||||||1200|;KNOWN_AF=0.25,.\n" +
	"chr1\t200\t.\tC\tA\t.\t.\t.\n"

func convert(t *testing.T, f Format) string {
	t.Helper()
	var out bytes.Buffer
	if err := Convert(strings.NewReader(annotated), &out, f); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTSVHasOneRowPerAnnotationInTheSchema(t *testing.T) {
	rows := strings.Split(strings.TrimSuffix(convert(t, TSV), "\n"), "\n")
	if len(rows) != 4 {
		t.Fatalf("%d rows:\n%s", len(rows), strings.Join(rows, "\n"))
	}
	var names []string
	for _, c := range Columns {
		names = append(names, c.Name)
	}
	if rows[0] != strings.Join(names, "\t") {
		t.Fatalf("header %q", rows[0])
	}
	want := "chr1\t100\trs1\tA\tG\t50\tPASS\t0.25\tG\tmissense_variant\tMODERATE\tABC\tG1\ttranscript\tT1\tprotein_coding\t2/5\tc.5A>G\tp.Lys2Arg\t20/900\t5/600\t2/199\t\tINFO_CANONICAL&INFO_MANE_SELECT\tYES\tYES"
	if rows[1] != want {
		t.Fatalf("row 1\n got %q\nwant %q", rows[1], want)
	}
	if !strings.HasPrefix(rows[2], "chr1\t100\trs1\tA\tT\t50\tPASS\t\tT\tupstream_gene_variant") || !strings.HasSuffix(rows[2], "\t1200\t\t\t") {
		t.Fatalf("second allele's row %q", rows[2])
	}
	for _, r := range rows {
		if n := strings.Count(r, "\t"); n != len(Columns)-1 {
			t.Fatalf("row has %d tabs: %q", n, r)
		}
	}
}

func TestJSONLinesUseTheSameColumnsWithTypes(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(convert(t, JSONL)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if len(first) != len(Columns) || first["pos"] != 100.0 || first["known_af"] != 0.25 || first["hgvs_p"] != "p.Lys2Arg" ||
		first["distance"] != nil || first["canonical"] != true || first["mane_select"] != true {
		t.Fatalf("first row %v", first)
	}
	if second["distance"] != 1200.0 || second["known_af"] != nil || second["alt"] != "T" || second["canonical"] != false {
		t.Fatalf("second row %v", second)
	}
}

func TestRowsOfOneAllele(t *testing.T) {
	line := []byte(strings.Split(annotated, "\n")[2])
	var got []string
	if err := Rows(line, 1, func(r *Row) error { got = append(got, r.Alt+":"+r.Ann[1]); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "T:upstream_gene_variant" {
		t.Fatalf("allele 1 rows %v", got)
	}
}

// TestEntryIsOneRowOfConvert: the row the variant table names by (allele,
// ANN index) is the row Convert writes for that entry.
func TestEntryIsOneRowOfConvert(t *testing.T) {
	line := []byte(strings.Split(annotated, "\n")[2])
	var all []Row
	if err := Rows(line, -1, func(r *Row) error { all = append(all, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	for k, want := range all {
		var got Row
		if err := Entry(line, k, k, &got); err != nil || got != want {
			t.Fatalf("entry %d: %+v, %v; want %+v", k, got, err, want)
		}
	}
	var r Row
	if err := Entry(line, 2, 0, &r); err == nil {
		t.Fatal("a third ALT allele was found")
	}
	if err := Entry(line, 0, 5, &r); err == nil {
		t.Fatal("a sixth ANN entry was found")
	}
}

func TestMalformedInputNamesTheLine(t *testing.T) {
	err := Convert(strings.NewReader("##x\nchr1\t1\n"), &bytes.Buffer{}, TSV)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed input: %v", err)
	}
}

func TestValuesStayInTheirColumns(t *testing.T) {
	if got := tsvSafe("a\tb\nc"); got != "a b c" {
		t.Fatalf("%q", got)
	}
}
