package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gasproject/gas/domain"
)

// uploadWith posts the upload form with option fields before the file, as
// the page's form sends them.
func (b *browser) uploadWith(fields url.Values, name, vcf string) domain.JobID {
	b.h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf_token", b.csrf)
	for k := range fields {
		_ = mw.WriteField(k, fields.Get(k))
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write([]byte(vcf))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.h.ts.URL+"/annotate", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r := b.do(req)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/annotations/") {
		b.h.t.Fatalf("upload: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	return domain.JobID(strings.TrimPrefix(r.Header.Get("Location"), "/annotations/"))
}

// TestSkipMalformedLinesFromTheForm (issue 13 item 7): the upload form
// offers to skip malformed lines; the job then completes, and its page
// and log name the lines skipped and why.
func TestSkipMalformedLinesFromTheForm(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "synthetic")
	h.engine = eng
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	if form := b.get("/annotate").body; !strings.Contains(form, `name="skip_malformed"`) {
		t.Fatal("the upload form offers no skipping of malformed lines")
	}
	lines := strings.SplitAfter(vcf, "\n")
	var head, body []string
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			head = append(head, l)
		} else if l != "" && len(body) < 30 {
			body = append(body, l)
		}
	}
	bad := strings.Join(head, "") + strings.Join(body[:10], "") + "chr1\tnot-a-position\t.\tA\tG\t.\t.\t.\n" + strings.Join(body[10:], "")
	id := b.uploadWith(url.Values{"skip_malformed": {"on"}}, "bad.vcf", bad)
	j := h.complete(id)
	if !j.Options().SkipMalformed || j.Status() != domain.StatusCompleted || j.Counts().Skipped != 1 {
		t.Fatalf("job %s, options %+v, skipped %d", j.Status(), j.Options(), j.Counts().Skipped)
	}
	if page := b.get("/annotations/" + string(id)).body; !strings.Contains(page, "<div><dt>Lines skipped</dt><dd>1</dd></div>") {
		t.Fatalf("job page: %s", between(page, `<dl class="stats">`, "</dl>"))
	}
	log := b.get("/annotations/" + string(id) + "/log").body
	if !strings.Contains(log, "line 16: POS &#34;not-a-position&#34; is not a position") || !strings.Contains(log, "skip them") {
		t.Fatalf("log page lacks the skipped line: %s", between(log, "<main", "</main>"))
	}
	// Without the option the same file fails the job (the default).
	plain := b.uploadWith(url.Values{}, "bad.vcf", bad)
	if _, err := h.jobs.Get(context.Background(), b.userID(), plain); err != nil {
		t.Fatal(err)
	}
	if o := h.job(plain).Options(); o.SkipMalformed {
		t.Fatalf("options without the box: %+v", o)
	}
}

// TestWrongReferenceBanner (issue 13 item 6): a file on chromosomes the
// reference lacks gets a prominent banner, and its rows carry warnings the
// table can filter on.
func TestWrongReferenceBanner(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "synthetic")
	h.engine = eng
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	good := b.submit("good.vcf", vcf)
	h.complete(good)
	if page := b.get("/annotations/" + string(good)).body; strings.Contains(page, `id="reference-warning"`) {
		t.Fatal("banner on a file that matches its reference")
	}
	var wrong strings.Builder
	wrong.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for i := 1; i <= 20; i++ {
		wrong.WriteString("chr9\t" + itoa(i*1000) + "\t.\tA\tG\t50\tPASS\t.\n")
	}
	id := b.submit("grch37.vcf", wrong.String())
	h.complete(id)
	page := b.get("/annotations/" + string(id)).body
	if !strings.Contains(page, `id="reference-warning"`) || !strings.Contains(page, "20 of 20 records") || !strings.Contains(page, "GRCh38 vs GRCh37") {
		t.Fatalf("no wrong-reference banner: %s", between(page, "<main", `id="manage"`))
	}
	warned := b.get("/annotations/" + string(id) + "?warning=any")
	if n, _ := shown(t, warned.body); n != 20 || !strings.Contains(table(warned.body), "tag-warn") {
		t.Fatalf("warning filter: %d rows", n)
	}
}

// TestRerunAgainstAnotherReference: the job page re-runs the input as a
// new job against another of the deployment's references.
func TestRerunAgainstAnotherReference(t *testing.T) {
	h := newHarness(t, withReferences{"refA", "refB"})
	a, vcf := syntheticEngine(t, "refA")
	bEng, _ := syntheticEngine(t, "refB")
	h.engine, h.extra = a, append(h.extra, bEng)
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	id := b.submit("x.vcf", vcf)
	h.complete(id)
	page := b.get("/annotations/" + string(id)).body
	if !strings.Contains(page, `<option value="refB">refB</option>`) {
		t.Fatalf("no re-run against refB offered: %s", between(page, `id="rerun-form"`, "</form>"))
	}
	r := b.postCSRF("/annotations/"+string(id)+"/rerun", url.Values{"reference": {"refB"}})
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || loc == "/annotations/"+string(id) {
		t.Fatalf("re-run: %d %s", r.StatusCode, loc)
	}
	nid := domain.JobID(strings.TrimPrefix(loc, "/annotations/"))
	if j := h.complete(nid); j.Reference() != "refB" || j.Options().Reference != "refB" {
		t.Fatalf("re-run annotated against %q (options %+v)", j.Reference(), j.Options())
	}
	if p := b.get(loc).body; !strings.Contains(p, "refB") {
		t.Fatal("new job page does not name refB")
	}
	if r := b.postCSRF("/annotations/"+string(id)+"/rerun", url.Values{"reference": {"hg19"}}); !strings.Contains(b.get(r.Header.Get("Location")).body, "Not re-run: choose one of the references") {
		t.Fatal("an unknown reference was not refused in words")
	}
}

// TestRefMismatchesRaiseTheBanner (issue 13 item 6): REF mismatches are
// no neutral card either. The synthetic sample with every SNV's REF
// changed to another base is annotated against its own reference: the
// job page shows the banner counting them, and the table's warning
// filter lists exactly the mismatched alleles' rows, each labelled.
func TestRefMismatchesRaiseTheBanner(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "synthetic")
	h.engine = eng
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	other := map[string]string{"A": "C", "C": "G", "G": "T", "T": "A"}
	var bad strings.Builder
	records, changed := 0, 0
	for line := range strings.Lines(vcf) {
		f := strings.Split(line, "\t")
		if line[0] == '#' || len(f) < 5 {
			bad.WriteString(line)
			continue
		}
		records++
		if o, ok := other[f[3]]; ok && len(f[4]) == 1 && f[4] != o {
			f[3] = o
			changed++
		}
		bad.WriteString(strings.Join(f, "\t"))
	}
	id := b.submit("swapped.vcf", bad.String())
	j := h.complete(id)
	if j.Counts().RefMismatches != int64(changed) || changed*20 < records {
		t.Fatalf("%d REF mismatches counted, %d made of %d records", j.Counts().RefMismatches, changed, records)
	}
	page := b.get("/annotations/" + string(id)).body
	if !strings.Contains(page, `id="reference-warning"`) || !strings.Contains(page, domain.Thousands(int64(changed))+" of "+domain.Thousands(int64(records))+" records") {
		t.Fatalf("no banner for %d REF mismatches: %s", changed, between(page, "<main", `id="manage"`))
	}
	warned := b.get("/annotations/" + string(id) + "?warning=WARNING_REF_DOES_NOT_MATCH_GENOME&most_severe=1")
	if n, unit := shown(t, warned.body); n != int64(changed) || unit != "alleles" || !strings.Contains(table(warned.body), "ref does not match genome") {
		t.Fatalf("REF mismatch filter: %d %s for %d mismatched alleles", n, unit, changed)
	}
}
