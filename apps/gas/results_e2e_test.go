package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestResultsInChromium drives the real `gas serve` in headless Chromium
// through the results pages of issue 13: the upload hint's size, a chart
// bar clicked into the table it counts, the per-transcript view and "most
// severe only", the canonical filter, a variant's detail view with its
// links out, the log's provenance, and the JSON lines download parsed
// line by line. Screenshots go to GAS_SCREENSHOTS (or a temporary dir).
func TestResultsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test skipped with -short")
	}
	if os.Getenv("GAS_SCREENSHOTS") == "" {
		t.Setenv("GAS_SCREENSHOTS", t.TempDir())
	}
	ctx, cancel := newBrowser(t)
	defer cancel()
	srv := startGas(t, buildGas(t), "--workers", "2")
	base := srv.URL
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, srv.logs.String())
		}
	}
	text := func(js string) string { t.Helper(); return runAction(t, tctx, chromedp.Evaluate[string](js), srv) }
	count := func() (int64, string) {
		t.Helper()
		s := text(`document.getElementById("variant-count").textContent`)
		m := regexp.MustCompile(`of ([0-9,]+) (rows|alleles)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("variant count %q", s)
		}
		n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		return n, m[2]
	}

	tiny := filepath.Join(t.TempDir(), "tiny.vcf")
	if err := os.WriteFile(tiny, []byte("##fileformat=VCFv4.2\n\n\n\n"), 0o644); err != nil { // 24 bytes
		t.Fatal(err)
	}
	do("sign in as premium",
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("dev-signin")),
		chromedp.SetValue(chromedp.ID("dev-name"), "Barbara McClintock"),
		chromedp.SetValue(chromedp.ID("dev-email"), "barbara@example.org"),
		chromedp.Click(chromedp.CSS(`input[name="tier"][value="PREMIUM"]`)),
		chromedp.Click(chromedp.ID("dev-signin")),
		chromedp.WaitVisible(chromedp.ID("job-search")),
		chromedp.Navigate(base+"/annotate"),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{tiny}),
	)
	if hint := text(`document.getElementById("file-hint").textContent`); hint != "tiny.vcf (24 bytes) is ready to upload." {
		t.Fatalf("upload hint for a 24-byte file: %q", hint)
	}
	do("annotate a sample",
		chromedp.Click(chromedp.CSS(`button[data-sample="sample-small.vcf"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-live-job]")),
		chromedp.WaitVisible(chromedp.ID("variant-table")), shot("20-job"),
	)
	jobURL := runAction(t, tctx, chromedp.Location(), srv)
	id := jobURL[strings.LastIndex(jobURL, "/")+1:]
	if unit := text(`document.querySelector("#chart-consequence .chart-unit").textContent`); !strings.Contains(unit, "Counted in rows: one per ALT allele × transcript") {
		t.Fatalf("consequence chart unit: %q", unit)
	}

	// Monospace cells (position, alleles, transcript, HGVS, AF) share their
	// row's baseline with the text cells: an empty inline-block put first
	// in each cell sits on its first line's baseline.
	spread := runAction(t, tctx, chromedp.Evaluate[float64](`(() => {
		let worst = 0;
		for (const tr of [...document.querySelectorAll("#variant-table tbody tr")].slice(0, 20)) {
			const ys = [...tr.cells].map(td => {
				const m = document.createElement("span");
				m.style.display = "inline-block";
				td.prepend(m);
				const y = m.getBoundingClientRect().bottom;
				m.remove();
				return y;
			});
			worst = Math.max(worst, Math.max(...ys) - Math.min(...ys));
		}
		return worst;
	})()`), srv)
	if spread > 1 {
		t.Fatalf("a table row's cells are %.1f px off one baseline", spread)
	}

	// A bar of the consequence chart: its table has the bar's count.
	bar := text(`(() => { const a = document.querySelector("#chart-consequence a.bar-link"); return a.querySelector("rect title").textContent })()`)
	want, _ := strconv.ParseInt(strings.ReplaceAll(bar[strings.LastIndex(bar, ": ")+2:], ",", ""), 10, 64)
	do("click a chart bar",
		clickToLoad(chromedp.CSS("#chart-consequence a.bar-link rect")),
		chromedp.WaitVisible(chromedp.ID("variant-count")),
	)
	if loc := runAction(t, tctx, chromedp.Location(), srv); !strings.Contains(loc, "?consequence=") {
		t.Fatalf("the bar led to %s", loc)
	}
	if n, unit := count(); n != want || unit != "rows" {
		t.Fatalf("bar %q: the table shows %d %s", bar, n, unit)
	}
	do("filtered by the bar", shot("21-bar-clicked"))

	// The views: every transcript, then the most severe only.
	do("all rows", chromedp.Navigate(jobURL+"#variants"), chromedp.WaitVisible(chromedp.ID("view-most-severe")))
	rows, unit := count()
	if unit != "rows" {
		t.Fatalf("default view counts %s", unit)
	}
	do("most severe only", clickToLoad(chromedp.ID("view-most-severe")), chromedp.WaitVisible(chromedp.ID("variant-count")), shot("22-most-severe"))
	alleles, unit := count()
	if unit != "alleles" || alleles >= rows || alleles == 0 {
		t.Fatalf("most severe only: %d %s of %d rows", alleles, unit, rows)
	}
	do("back to every transcript", clickToLoad(chromedp.ID("view-transcripts")), chromedp.WaitVisible(chromedp.ID("variant-count")))
	if n, unit := count(); n != rows || unit != "rows" {
		t.Fatalf("toggled back: %d %s, want %d rows", n, unit, rows)
	}

	// Canonical only, chosen in the filter form.
	do("canonical only",
		chromedp.SetValue(chromedp.ID("f-tx"), "canonical"),
		clickToLoad(chromedp.ID("apply-filters")),
		chromedp.WaitVisible(chromedp.ID("variant-count")), shot("23-canonical"),
	)
	canon, _ := count()
	shownRows := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("#variant-table tbody tr").length`), srv)
	tagged := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("#variant-table tbody tr .tag-canonical").length`), srv)
	if canon == 0 || canon >= rows || shownRows == 0 || tagged != shownRows {
		t.Fatalf("canonical only: %d of %d rows, %d shown, %d tagged canonical", canon, rows, shownRows, tagged)
	}

	// A variant's detail: every transcript of an allele the table lists
	// more than once (the rows on the page are ordered by position).
	do("every transcript again", chromedp.Navigate(jobURL+"#variants"), chromedp.WaitVisible(chromedp.ID("variant-table")))
	many := runAction(t, tctx, chromedp.Evaluate[[]int](`(() => {
		const key = tr => [...tr.querySelectorAll("td")].slice(0, 3).map(td => td.textContent.trim()).join(" ");
		const rows = [...document.querySelectorAll("#variant-table tbody tr")];
		const i = rows.findIndex((tr, i) => i + 1 < rows.length - 1 && key(tr) === key(rows[i + 1]));
		if (i < 0) return [];
		let n = 0;
		while (i + n < rows.length && key(rows[i + n]) === key(rows[i])) n++;
		rows[i].querySelector("a.variant-link").id = "multi";
		return [i, n];
	})()`), srv)
	if len(many) != 2 {
		t.Fatal("no allele with two transcripts on the table's first page")
	}
	do("variant detail", chromedp.Click(chromedp.ID("multi")), chromedp.WaitVisible(chromedp.ID("transcripts")), shot("24-variant"))
	if n := runAction(t, tctx, chromedp.Evaluate[int](`document.querySelectorAll("#transcripts tbody tr").length`), srv); n != many[1] {
		t.Fatalf("detail view lists %d transcripts; the table had %d rows for the allele", n, many[1])
	}
	links := runAction(t, tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#outlinks a")].map(a => a.href)`), srv)
	hosts := strings.Join(links, " ")
	for _, h := range []string{"ensembl.org", "ncbi.nlm.nih.gov/snp", "ncbi.nlm.nih.gov/clinvar", "gnomad.broadinstitute.org/variant/"} {
		if !strings.Contains(hosts, h) {
			t.Errorf("detail view lacks a link to %s: %v", h, links)
		}
	}

	// JSON lines, downloaded by the browser from the job page's link and
	// parsed line by line.
	do("job page", chromedp.Navigate(jobURL), chromedp.WaitVisible(chromedp.ID("download-jsonl")))
	name, body := saveDownload(t, tctx, chromedp.Click(chromedp.ID("download-jsonl")), srv)
	if !strings.HasSuffix(name, ".jsonl") {
		t.Errorf("JSON lines saved as %q, want a .jsonl name", name)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	for i, l := range lines {
		var o struct {
			Chrom *string `json:"chrom"`
			Pos   *int64  `json:"pos"`
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil || o.Chrom == nil || o.Pos == nil {
			t.Fatalf("JSON lines download, line %d %q: %v", i+1, l, err)
		}
	}
	if int64(len(lines)) != rows {
		t.Fatalf("JSON lines download has %d lines; the table has %d rows", len(lines), rows)
	}
	ctype := runAction(t, tctx, chromedp.Evaluate[string](`fetch("/annotations/`+id+`/download/jsonl").then(r => r.headers.get("Content-Type"))`,
		chromedp.EvalAwaitPromise), srv)
	if ctype != "application/x-ndjson" {
		t.Errorf("JSON lines served as %q", ctype)
	}

	do("log", chromedp.Navigate(jobURL+"/log"), chromedp.WaitVisible(chromedp.ID("provenance")), shot("25-log"))
	if engine := text(`document.getElementById("engine-version").textContent`); !strings.HasPrefix(engine, "gas ") {
		t.Fatalf("log page engine: %q", engine)
	}
	do("list and a filtered table",
		chromedp.Navigate(base+"/annotations?state=COMPLETED"), chromedp.WaitVisible(chromedp.ID("job-search")), shot("26-list"),
		chromedp.Navigate(jobURL+"?impact=HIGH#variants"), chromedp.WaitVisible(chromedp.ID("variant-table")), shot("27-high"),
	)

	// A file called against another assembly: the banner, and its link to
	// the rows with warnings, each showing one.
	var wrong strings.Builder
	wrong.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for i := range 6 {
		fmt.Fprintf(&wrong, "chr%s\t%d\t.\tA\tG\t50\tPASS\t.\n", []string{"7", "1"}[i%2], 900_000_000+i)
	}
	wrongPath := filepath.Join(t.TempDir(), "grch37.vcf")
	if err := os.WriteFile(wrongPath, []byte(wrong.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	do("a file for another reference",
		chromedp.Navigate(base+"/annotate"), chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{wrongPath}),
		chromedp.Click(chromedp.ID("submit-upload")),
		chromedp.WaitVisible(chromedp.ID("reference-warning")), shot("28-wrong-reference"),
		clickToLoad(chromedp.CSS(`#reference-warning a[href="?warning=any#variants"]`)),
		chromedp.WaitVisible(chromedp.ID("variant-count")), shot("29-warnings"),
	)
	if n, _ := count(); n != 6 {
		t.Fatalf("rows with warnings: %d, want 6", n)
	}
	if w := runAction(t, tctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#variant-table tbody tr")].filter(tr => tr.querySelector(".tag-warn")).length`), srv); w != 6 {
		t.Fatalf("%d of 6 rows show a warning", w)
	}
	t.Logf("screenshots in %s", os.Getenv("GAS_SCREENSHOTS"))
}

// saveDownload runs click, which makes the browser download a file, and
// returns the name the server suggested and the bytes saved.
func saveDownload(t *testing.T, ctx context.Context, click chromedp.Action[chromedp.Void], srv *gasServer) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	begin := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	allow := chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
		return err
	})
	if err := chromedp.Do(ctx, allow, click); err != nil {
		t.Fatalf("download: %v\nserver log:\n%s", err, srv.logs.String())
	}
	var name string
	for ev, err := range begin {
		if err != nil {
			t.Fatalf("download did not begin: %v", err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download did not finish: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("download %s cancelled", name)
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return name, b
		}
	}
	t.Fatal("no download")
	return "", nil
}
