package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// The smaller page faults of issue 13 (item 9), one test each.

func TestOutboxListsNewestFirst(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	must(t, h.outbox.Send(context.Background(), ports.Email{User: b.userID(), To: "ann@example.org", Subject: "First, older", Text: "1"}))
	h.clock.Advance(time.Minute)
	must(t, h.outbox.Send(context.Background(), ports.Email{User: b.userID(), To: "ann@example.org", Subject: "Second, newer", Text: "2"}))
	body := b.get("/outbox").body
	older, newer := strings.Index(body, "First, older"), strings.Index(body, "Second, newer")
	if older < 0 || newer < 0 || newer > older {
		t.Fatalf("outbox order: newer at %d, older at %d; want newest first", newer, older)
	}
}

func TestProfileAPILinkHasItsSection(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	if !strings.Contains(b.get("/profile").body, `href="/about#api"`) {
		t.Fatal("profile no longer links the API section")
	}
	about := b.get("/about").body
	if !strings.Contains(about, `id="api"`) || !strings.Contains(about, "Authorization: Bearer") || !strings.Contains(about, "application/x-ndjson") {
		t.Fatalf("About has no JSON API section: %s", between(about, "<main", "</main>"))
	}
}

func TestArchivedJobHasNoGeneLinksToAnEmptyTable(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	if hot := b.get("/annotations/" + string(id)).body; !strings.Contains(hot, `href="?gene=GENE1&amp;impact=HIGH#variants"`) || !strings.Contains(hot, `class="bar-link"`) {
		t.Fatal("a hot result's top genes and chart bars should link the table")
	}
	h.mutate(id, func(j *domain.Job) error { return j.Archived("arch-1") })
	page := b.get("/annotations/" + string(id)).body
	if !strings.Contains(page, "GENE1") || strings.Contains(page, "?gene=") || strings.Contains(page, "bar-link") {
		t.Fatalf("archived page links to a table it cannot show: %s", between(page, "top-genes", "</table>"))
	}
}

func TestPageBeyondTheLastShowsTheLast(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("many.vcf", manyVariants(120))
	h.complete(id)
	r := b.get("/annotations/" + string(id) + "?page=99")
	if !strings.Contains(r.body, "Showing 101–120 of 120 rows") || !strings.Contains(r.body, "Page 3 of 3") || strings.Contains(r.body, "0–0") {
		t.Fatalf("page 99 of 3: %s", between(r.body, "variant-count", "</nav>"))
	}
}

func TestCountsHaveThousandsSeparators(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	id := b.submit("many.vcf", manyVariants(1200))
	h.complete(id)
	page := b.get("/annotations/" + string(id)).body
	for _, want := range []string{"<dd>1,200</dd>", "of 1,200 rows", ">1,200</text>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, ">1200<") {
		t.Error("a count of 1200 is shown without its separator")
	}
}

func TestChartLabelsAreWholeAndChartsDownloadAsSVG(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	page := b.get("/annotations/" + string(id)).body
	if strings.Contains(page, "…</text>") || !strings.Contains(page, `text-anchor="end">non coding transcript exon variant</text>`) {
		t.Fatal("a chart label is cut")
	}
	for _, name := range []string{"impact", "consequence", "class"} {
		if !strings.Contains(page, `href="/annotations/`+string(id)+`/charts/`+name+`.svg"`) {
			t.Errorf("no SVG download of the %s chart", name)
		}
	}
	r := b.get("/annotations/" + string(id) + "/charts/consequence.svg")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.Header.Get("Content-Disposition"), "a.consequence.svg") {
		t.Fatalf("chart download: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	if !strings.HasPrefix(r.body, `<svg xmlns="http://www.w3.org/2000/svg"`) || !strings.Contains(r.body, "<style>") ||
		!strings.Contains(r.body, "stop gained") || !strings.Contains(r.body, `width="`) || strings.Contains(r.body, "<a ") {
		t.Fatalf("standalone SVG: %s", r.body)
	}
	if r := b.get("/annotations/" + string(id) + "/charts/nope.svg"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown chart: %d", r.StatusCode)
	}
}

func TestFailedJobShowsNoSuccessBanner(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	// The upload's redirect leaves a flash; the job fails before the
	// browser follows it.
	r := b.upload("/annotate", b.csrf, "broken.vcf", []byte("garbage"))
	id := domain.JobID(strings.TrimPrefix(r.Header.Get("Location"), "/annotations/"))
	h.fail(id, "bad input: line 1: a VCF record needs at least 8 columns")
	page := b.get("/annotations/" + string(id)).body
	if strings.Contains(page, `class="flash"`) || strings.Contains(page, "queued") || !strings.Contains(page, "The annotation failed") {
		t.Fatalf("failed job page: %s", between(page, "<main", "</section>"))
	}
	// A job that did not fail keeps its banner, without claiming a state.
	ok := b.upload("/annotate", b.csrf, "fine.vcf", []byte(sampleVCF))
	page = b.get(ok.Header.Get("Location")).body
	if !strings.Contains(page, `<div class="flash" role="status">fine.vcf uploaded.</div>`) {
		t.Fatalf("pending job page: %s", between(page, "<main", "</dl>"))
	}
}

// manyVariants is a VCF of n SNVs on chr1.
func manyVariants(n int) string {
	var b strings.Builder
	b.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for i := 1; i <= n; i++ {
		b.WriteString("chr1\t" + itoa(i*100) + "\t.\tA\tG\t50\tPASS\t.\n")
	}
	return b.String()
}
