package web_test

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/domain"
)

// syntheticEngine is the real engine over the synthetic small reference
// (canonical and MANE Select tags, known variants with AF), and the
// reference's variant VCF.
func syntheticEngine(t *testing.T, name string) (*engine.Engine, string) {
	t.Helper()
	files, err := synth.WriteFiles(t.TempDir(), synth.Small(), synth.FileOptions{Known: true})
	must(t, err)
	open := func(p string) *os.File {
		f, err := os.Open(p)
		must(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	ref, err := engine.BuildReference(engine.Sources{Name: name, Genes: open(files.GFF3), FASTA: open(files.FASTA)})
	must(t, err)
	must(t, known.EnsureIndex(files.Known))
	e, err := engine.New(ref, engine.Options{Workers: 2, Known: func(r known.Reference) (known.Matcher, error) {
		return known.Open(files.Known, known.Options{Reference: r})
	}})
	must(t, err)
	vcf, err := os.ReadFile(files.Variants)
	must(t, err)
	return e, string(vcf)
}

var countRE = regexp.MustCompile(`Showing [0-9,]+–[0-9,]+ of ([0-9,]+) (rows|alleles)`)

// shown is the table's total and unit on a page.
func shown(t *testing.T, body string) (int64, string) {
	t.Helper()
	m := countRE.FindStringSubmatch(body)
	if m == nil {
		if strings.Contains(body, "No variants match.") {
			return 0, ""
		}
		t.Fatalf("no count on the page: %s", between(body, `id="variant-count"`, "</p>"))
	}
	n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	return n, m[2]
}

var barRE = regexp.MustCompile(`<a href="\?([a-z]+=[^"#]+)#variants" class="bar-link" data-filter="[^"]*"><text[^>]*>[^<]*</text><rect[^>]*><title>([^:<]+): ([0-9,]+)</title>`)

// TestTheUnitIsOneThing (issue 13 items 1–4, 6): every chart bar is a link
// whose table shows as many rows as the bar says; the per-transcript view
// has one row per ALT allele × transcript and "most severe only" one per
// allele; filters match any transcript; canonical, AF and warnings filter;
// and the filtered table downloads as TSV, JSON lines and VCF with the
// same selection.
func TestTheUnitIsOneThing(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "synthetic-GRCh38-like")
	h.engine = eng
	b := h.signIn("Pat", "pat@example.org", domain.TierPremium)
	id := b.submit("synth.vcf", vcf)
	j := h.complete(id)
	base := "/annotations/" + string(id)
	page := b.get(base).body
	rows, unit := shown(t, page)
	if unit != "rows" || rows <= j.Counts().Variants {
		t.Fatalf("per-transcript view: %d %s for %d alleles", rows, unit, j.Counts().Variants)
	}
	if !strings.Contains(page, "Counted in rows: one per "+domain.RowUnit) {
		t.Fatal("the charts do not say what they count")
	}
	bars := barRE.FindAllStringSubmatch(page, -1)
	if len(bars) < 6 {
		t.Fatalf("%d linked bars", len(bars))
	}
	for _, bar := range bars {
		want, _ := strconv.ParseInt(strings.ReplaceAll(bar[3], ",", ""), 10, 64)
		if got, _ := shown(t, b.get(base+"?"+strings.ReplaceAll(bar[1], "&amp;", "&")).body); got != want {
			t.Errorf("bar %s says %d, its table shows %d", bar[2], want, got)
		}
	}
	severe := b.get(base + "?most_severe=1").body
	if n, unit := shown(t, severe); unit != "alleles" || n != j.Counts().Variants {
		t.Fatalf("most severe only: %d %s, want %d alleles", n, unit, j.Counts().Variants)
	}
	// Canonical only: fewer rows, each tagged canonical.
	canon := b.get(base + "?transcript=canonical").body
	if n, _ := shown(t, canon); n == 0 || n >= rows {
		t.Fatalf("canonical only: %d of %d rows", n, rows)
	}
	if strings.Count(table(canon), "<tr>") != strings.Count(table(canon), "tag-canonical") {
		t.Error("a row of the canonical-only table is not tagged canonical")
	}
	// A gene filter finds every row of the gene, not only alleles whose
	// worst row is in it.
	gene := firstGene(t, page)
	all := b.get(base + "?gene=" + gene).body
	worst := b.get(base + "?gene=" + gene + "&most_severe=1").body
	if n, _ := shown(t, all); n == 0 {
		t.Fatalf("gene %s has no rows", gene)
	}
	if strings.Count(table(all), ">"+gene+"<") == 0 || strings.Count(table(worst), ">"+gene+"<") == 0 {
		t.Errorf("rows of gene %s not shown in both views", gene)
	}
	// AF below: every AF shown is below it.
	af := b.get(base + "?af_below=0.05&known=known").body
	for _, m := range regexp.MustCompile(`<td class="num mono">([0-9.e-]+)</td>`).FindAllStringSubmatch(table(af), -1) {
		if v, _ := strconv.ParseFloat(m[1], 64); v >= 0.05 {
			t.Errorf("AF %s shown under af_below=0.05", m[1])
		}
	}
	// Exports of a filtered view: the same rows in every format.
	sel := "?impact=HIGH"
	n, _ := shown(t, b.get(base+sel).body)
	tsv := b.get(base + "/variants.tsv" + sel)
	jsonl := b.get(base + "/variants.jsonl" + sel)
	vcfOut := b.get(base + "/variants.vcf" + sel)
	if got := int64(strings.Count(tsv.body, "\n") - 1); got != n {
		t.Errorf("TSV has %d rows, the table %d", got, n)
	}
	sc := bufio.NewScanner(strings.NewReader(jsonl.body))
	var lines int64
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row["impact"] != "HIGH" {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		lines++
	}
	if lines != n || jsonl.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("JSON lines: %d rows as %q, the table %d", lines, jsonl.Header.Get("Content-Type"), n)
	}
	if vcfOut.Header.Get("Content-Type") != "text/x-vcf; charset=utf-8" || !strings.HasPrefix(vcfOut.body, "##fileformat=VCF") ||
		!strings.Contains(vcfOut.Header.Get("Content-Disposition"), "synth.annot.subset.vcf") {
		t.Errorf("VCF export: %q %q", vcfOut.Header.Get("Content-Type"), vcfOut.Header.Get("Content-Disposition"))
	}
	for _, line := range strings.Split(strings.TrimSpace(vcfOut.body), "\n") {
		if !strings.HasPrefix(line, "#") && !strings.Contains(line, "|HIGH|") {
			t.Errorf("VCF export line without a HIGH row: %s", line)
		}
	}
}

var detailRE = regexp.MustCompile(`href="(/annotations/[^/"]+/variants/[0-9]+)" class="variant-link"`)

// TestVariantDetail: a row opens its allele with every transcript, its
// known ids and AF, and links out built from coordinates and rsID.
func TestVariantDetail(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "GRCh37-synthetic")
	h.engine = eng
	b := h.signIn("Pat", "pat@example.org", domain.TierPremium)
	id := b.submit("synth.vcf", vcf)
	h.complete(id)
	// A known variant (it has an rsID) with several transcripts.
	var found bool
	for page := 1; page <= 20 && !found; page++ {
		body := b.get("/annotations/" + string(id) + "?known=known&page=" + strconv.Itoa(page)).body
		for _, m := range detailRE.FindAllStringSubmatch(body, -1) {
			d := b.get(m[1])
			if d.StatusCode != 200 {
				t.Fatalf("%s: %d", m[1], d.StatusCode)
			}
			if strings.Count(between(d.body, `id="transcripts"`, "</table>"), "<tr") < 3 { // head + 2 rows
				continue
			}
			found = true
			rs := regexp.MustCompile(`<code>(rs[0-9]+)</code>`).FindStringSubmatch(d.body)
			if rs == nil || !strings.Contains(d.body, "KNOWN_AF of the matching known variant") {
				t.Fatalf("detail lacks the rsID or AF: %s", between(d.body, `id="variant-facts"`, "</dl>"))
			}
			for _, want := range []string{
				`https://grch37.ensembl.org/Homo_sapiens/Location/View?r=`,
				`https://www.ncbi.nlm.nih.gov/snp/` + rs[1],
				`https://www.ncbi.nlm.nih.gov/clinvar/?term=` + rs[1],
				`https://gnomad.broadinstitute.org/variant/`, `dataset=gnomad_r2_1`,
				`class="current"`, "tag-canonical",
			} {
				if !strings.Contains(d.body, strings.ReplaceAll(want, "&", "&amp;")) {
					t.Errorf("detail lacks %q", want)
				}
			}
			break
		}
	}
	if !found {
		t.Fatal("no known variant with two or more transcripts in the sample")
	}
	if r := b.get("/annotations/" + string(id) + "/variants/99999999"); r.StatusCode != 404 {
		t.Fatalf("row past the end: %d", r.StatusCode)
	}
	eve := h.signIn("Eve", "eve@example.org", domain.TierFree)
	if r := eve.get("/annotations/" + string(id) + "/variants/0"); r.StatusCode != 404 {
		t.Fatalf("another user's variant: %d", r.StatusCode)
	}
}

func firstGene(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`<datalist id="genes"><option value="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no gene in the filter menu")
	}
	return m[1]
}

// table is the variant table of a job page.
func table(page string) string {
	return between(between(page, `id="variant-table"`, "</table>"), "<tbody>", "</tbody>")
}
