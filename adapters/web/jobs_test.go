package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
)

func TestUploadStreamsAndEnforcesTierLimit(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	page := b.get("/annotate")
	if !strings.Contains(page.body, `action="/annotate"`) || !strings.Contains(page.body, "150 KiB") || !strings.Contains(page.body, "sample.vcf") {
		t.Fatalf("annotate page: %s", page.body)
	}
	id := b.submit("mine.vcf", sampleVCF)
	detail := b.get("/annotations/" + string(id))
	if !strings.Contains(detail.body, "mine.vcf uploaded") || !strings.Contains(detail.body, "PENDING") {
		t.Fatal("detail after upload lacks flash or status")
	}
	j, err := h.jobs.Get(context.Background(), b.userID(), id)
	must(t, err)
	if j.Status() != domain.StatusPending || j.InputName() != "mine.vcf" || j.InputSize() != int64(len(sampleVCF)) {
		t.Fatalf("job %+v", j.Snapshot())
	}
	if st, _ := h.requests.Stats(context.Background()); st.Visible != 1 {
		t.Fatalf("annotation request not published: %+v", st)
	}

	// 151 KB for a free user: refused with an upgrade offer, nothing stored.
	before := h.objects.keys("inputs/")
	big := bytes.Repeat([]byte("chr1\t1\t.\tA\tC\t.\t.\t.\n"), 151*1024/10)[:151*1024]
	r := b.upload("/annotate", b.csrf, "big.vcf", big)
	// POST-redirect-GET: the refusal is a page of its own, so reloading it
	// does not post the file again.
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/annotate?") {
		t.Fatalf("151 KB upload: %d %s, want a redirect to the form", r.StatusCode, r.Header.Get("Location"))
	}
	for range 2 { // the page, and the page reloaded
		r := b.get(r.Header.Get("Location"))
		if r.StatusCode != 200 || !strings.Contains(r.body, "Upgrade to premium") ||
			!strings.Contains(r.body, "the file is larger than 150 KiB; free accounts may submit up to 150 KiB — upgrade to premium for files up to 2 GiB") {
			t.Fatalf("refusal page: %d %s", r.StatusCode, between(r.body, "<main", "</form>"))
		}
	}
	if after := h.objects.keys("inputs/"); len(after) != len(before) {
		t.Fatalf("refused upload left objects: %v", after)
	}
	list, _, _ := h.jobs.List(context.Background(), b.userID(), "", 10)
	if len(list) != 1 {
		t.Fatalf("refused upload made a job: %d jobs", len(list))
	}
	// Not a VCF.
	if r := b.upload("/annotate", b.csrf, "notes.txt", []byte("hello")); r.StatusCode != http.StatusSeeOther ||
		!strings.Contains(b.get(r.Header.Get("Location")).body, "&#34;notes.txt&#34; must end in .vcf") {
		t.Fatalf("non-VCF: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// A refusal link says only what the form rebuilds from its facts.
	for _, q := range []string{"refused=size&size=-3&plan=FREE", "refused=size&size=9&plan=GOLD", "refused=name&name=fine.vcf", "refused=<b>"} {
		if r := b.get("/annotate?" + q); strings.Contains(r.body, `role="alert"`) {
			t.Errorf("made-up refusal %q shown: %s", q, between(r.body, `role="alert"`, "</div>"))
		}
	}
	if list, _, _ := h.jobs.List(context.Background(), b.userID(), "", 10); len(list) != 1 {
		t.Fatalf("refusals made jobs: %d jobs", len(list))
	}
	// A premium user may send it.
	p := h.signIn("Pat", "pat@example.org", domain.TierPremium)
	p.submit("big.vcf", string(big))
	// Samples submit in one click.
	r = b.postCSRF("/samples/sample.vcf/submit", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/annotations/") {
		t.Fatalf("sample submit: %d", r.StatusCode)
	}
	if r := b.get("/samples/sample.vcf"); r.StatusCode != 200 || r.body != sampleVCF {
		t.Fatalf("sample download: %d", r.StatusCode)
	}
	if r := b.get("/samples/nope.vcf"); r.StatusCode != 404 {
		t.Fatalf("unknown sample: %d", r.StatusCode)
	}
}

func TestPresignedUploadPath(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.StreamUploads = false })
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	page := b.get("/annotate")
	if !strings.Contains(page.body, `action="/objects/upload"`) || !strings.Contains(page.body, `name="policy"`) {
		t.Fatalf("presigned form: %s", page.body)
	}
	fields := map[string]string{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page.body, -1) {
		fields[m[1]] = m[2]
	}
	post := func(data []byte) resp {
		var buf bytes.Buffer
		mw := multipartWriter(&buf, fields, "file", "ignored.vcf", data)
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/objects/upload", &buf)
		req.Header.Set("Content-Type", mw)
		return b.do(req)
	}
	r := post([]byte(sampleVCF))
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/annotate/uploaded?") {
		t.Fatalf("store upload: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	u, _ := url.Parse(h.ts.URL)
	b.c.Jar.SetCookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/annotate"}, []*http.Cookie{{Name: "gas_upload_name", Value: "chosen.vcf", Path: "/annotate"}})
	loc, _ := url.Parse(r.Header.Get("Location"))
	r = b.get(loc.RequestURI())
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("uploaded callback: %d %s", r.StatusCode, r.body)
	}
	id := domain.JobID(strings.TrimPrefix(r.Header.Get("Location"), "/annotations/"))
	j, err := h.jobs.Get(context.Background(), b.userID(), id)
	must(t, err)
	if j.InputName() != "chosen.vcf" {
		t.Fatalf("input name %q", j.InputName())
	}
	// Another user cannot claim the upload.
	o := h.signIn("Eve", "eve@example.org", domain.TierFree)
	if r := o.get(loc.RequestURI()); r.StatusCode != 404 {
		t.Fatalf("other user's uploaded callback: %d", r.StatusCode)
	}
	// The store refuses an oversize body under the signed policy.
	page = b.get("/annotate")
	for _, m := range hiddenRE.FindAllStringSubmatch(page.body, -1) {
		fields[m[1]] = m[2]
	}
	if r := post(bytes.Repeat([]byte("A"), 151*1024)); r.StatusCode != 400 {
		t.Fatalf("oversize presigned upload: %d", r.StatusCode)
	}
}

func TestJobListNewestFirstPaginated(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	var ids []domain.JobID
	for i := 0; i < 7; i++ {
		ids = append(ids, b.submit("f"+string(rune('a'+i))+".vcf", sampleVCF))
		h.clock.Advance(time.Second)
	}
	var seen []string
	path := "/annotations"
	for pages := 0; path != ""; pages++ {
		r := b.get(path)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		for _, m := range jobLinkRE.FindAllStringSubmatch(r.body, -1) {
			seen = append(seen, m[1])
		}
		path = ""
		if m := nextRE.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d jobs: %v", len(seen), seen)
	}
	for i := range seen {
		if seen[i] != string(ids[6-i]) {
			t.Fatalf("order %v, want newest first %v", seen, ids)
		}
	}
	if r := b.get("/annotations?cursor=garbage"); r.StatusCode != 400 {
		t.Fatalf("bad cursor: %d", r.StatusCode)
	}
	// Live status JSON for the list page.
	r := b.get("/annotations/status?ids=" + string(ids[0]) + ",nonexistent")
	var st []map[string]any
	must(t, json.Unmarshal([]byte(r.body), &st))
	if len(st) != 1 || st[0]["status"] != "PENDING" || st[0]["terminal"] != false {
		t.Fatalf("statuses %v", st)
	}
}

func TestCompletedJobPage(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	var vcf strings.Builder
	vcf.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for i := 1; i <= 120; i++ {
		id := "."
		if i%5 == 0 {
			id = "rs" + string(rune('0'+i%10))
		}
		vcf.WriteString("chr1\t" + itoa(i*100) + "\t" + id + "\tA\tG\t50\tPASS\t.\n")
	}
	id := b.submit("big-ish.vcf", vcf.String())
	h.complete(id)
	r := b.get("/annotations/" + string(id))
	if r.StatusCode != 200 {
		t.Fatalf("detail: %d", r.StatusCode)
	}
	for _, want := range []string{"COMPLETED", "Completed", "synthetic-test-ref", "<svg", "Variants by impact", "Variants by consequence",
		"Variants by class", "top-genes", "GENE1", "Showing 1–50 of 120 rows", "Page 1 of 3", "/download/vcf", "/download/tsv",
		"/download/jsonl", "downloadable until", "stop gained"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("detail page lacks %q", want)
		}
	}
	// Filter, sort and page server-side.
	r = b.get("/annotations/" + string(id) + "?impact=HIGH&sort=position")
	if !strings.Contains(r.body, "Showing 1–30 of 30 rows") || strings.Contains(r.body, "impact-moderate") {
		t.Fatalf("impact filter: %s", between(r.body, "variant-count", "</p>"))
	}
	r = b.get("/annotations/" + string(id) + "?sort=position&desc=1&page=3")
	if !strings.Contains(r.body, "Showing 101–120 of 120") || !strings.Contains(r.body, "chr1:2000") {
		t.Fatalf("desc page 3: %s", between(r.body, "variant-count", "</p>"))
	}
	r = b.get("/annotations/" + string(id) + "?gene=GENE3&known=known")
	if !strings.Contains(r.body, "of 6 rows") {
		t.Fatalf("gene+known filter: %s", between(r.body, "variant-count", "</p>"))
	}
	// Downloads: VCF via presigned URL carries ANN.
	dl := b.get("/annotations/" + string(id) + "/download/vcf")
	if dl.StatusCode != http.StatusSeeOther || !strings.HasPrefix(dl.Header.Get("Location"), "/objects/download?") {
		t.Fatalf("vcf download: %d %q", dl.StatusCode, dl.Header.Get("Location"))
	}
	obj := b.get(dl.Header.Get("Location"))
	if obj.StatusCode != 200 || !strings.Contains(obj.body, "ANN=G|") || !strings.Contains(obj.Header.Get("Content-Disposition"), "big-ish.annot.vcf") {
		t.Fatalf("annotated VCF: %d %q", obj.StatusCode, obj.Header.Get("Content-Disposition"))
	}
	if ct := obj.Header.Get("Content-Type"); ct != "text/x-vcf; charset=utf-8" {
		t.Fatalf("annotated VCF served as %q, want text/x-vcf (text/vcard is a contact card)", ct)
	}
	tsv := b.get("/annotations/" + string(id) + "/download/tsv")
	if lines := strings.Count(tsv.body, "\n"); tsv.StatusCode != 200 || lines != 121 || !strings.HasPrefix(tsv.body, "CHROM\tPOS") {
		t.Fatalf("tsv: %d, %d lines", tsv.StatusCode, lines)
	}
	js := b.get("/annotations/" + string(id) + "/download/jsonl")
	if ct := js.Header.Get("Content-Type"); ct != "application/x-ndjson" || !strings.Contains(js.Header.Get("Content-Disposition"), ".jsonl") {
		t.Fatalf("jsonl served as %q, %q", ct, js.Header.Get("Content-Disposition"))
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(js.body), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 120 || rows[0]["gene_name"] == "" {
		t.Fatalf("jsonl: %d rows, first %v", len(rows), rows[0])
	}
	sub := b.get("/annotations/" + string(id) + "/variants.tsv?impact=HIGH")
	if n := strings.Count(sub.body, "\n"); n != 31 || strings.Contains(sub.body, "MODERATE") {
		t.Fatalf("subset tsv: %d lines", n)
	}
	if full, filtered := strings.SplitN(tsv.body, "\n", 2)[0], strings.SplitN(sub.body, "\n", 2)[0]; full != filtered {
		t.Fatalf("the filtered table's columns differ from the download's:\n%s\n%s", filtered, full)
	}
	if r := b.get("/annotations/" + string(id) + "/download/xml"); r.StatusCode != 404 {
		t.Fatalf("unknown format: %d", r.StatusCode)
	}
	lg := b.get("/annotations/" + string(id) + "/log")
	if !strings.Contains(lg.body, "GAS annotation summary") {
		t.Fatal("log page lacks the log")
	}
	in := b.get("/annotations/" + string(id) + "/input")
	if in.body != vcf.String() {
		t.Fatal("input download differs")
	}
	st := b.get("/annotations/" + string(id) + "/status")
	if !strings.Contains(st.body, `"archive_at"`) || !strings.Contains(st.body, `"terminal":true`) {
		t.Fatalf("status: %s", st.body)
	}
}

func TestArchivedRestoringAndFailedPages(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	h.mutate(id, func(j *domain.Job) error { return j.Archived("arch-1") })
	r := b.get("/annotations/" + string(id))
	if !strings.Contains(r.body, "Upgrade to download") || !strings.Contains(r.body, "ARCHIVED") || strings.Contains(r.body, "download-vcf") {
		t.Fatalf("archived page: %s", r.body)
	}
	if r := b.get("/annotations/" + string(id) + "/download/vcf"); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Upgrade to premium") {
		t.Fatalf("archived download: %d", r.StatusCode)
	}
	if r := b.get("/annotations/" + string(id) + "/variants.tsv"); r.StatusCode != http.StatusConflict {
		t.Fatalf("archived subset: %d", r.StatusCode)
	}
	expected := h.clock.Now().Add(5 * time.Minute)
	h.mutate(id, func(j *domain.Job) error { return j.RestoreStarted("ret-1", domain.RetrievalExpedited, expected) })
	r = b.get("/annotations/" + string(id))
	if !strings.Contains(r.body, "Expedited retrieval, expected by "+expected.Format("2006-01-02 15:04:05 UTC")) || !strings.Contains(r.body, "RESTORING") {
		t.Fatalf("restoring page: %s", between(r.body, "<main", "</main>"))
	}
	if r := b.get("/annotations/" + string(id) + "/download/tsv"); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Expedited") {
		t.Fatalf("restoring download: %d", r.StatusCode)
	}
	f := b.submit("broken.vcf", "garbage")
	h.fail(f, "bad input: line 1: a VCF record needs at least 8 columns")
	r = b.get("/annotations/" + string(f))
	if !strings.Contains(r.body, "The annotation failed") || !strings.Contains(r.body, "Line 1: a VCF record needs at least 8 columns.") {
		t.Fatalf("failed page: %s", between(r.body, "<main", "</main>"))
	}
}

// TestOtherUsersGet404Everywhere checks every job route, page and API, for
// a job that belongs to someone else.
func TestOtherUsersGet404Everywhere(t *testing.T) {
	h := newHarness(t)
	owner := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := owner.submit("a.vcf", sampleVCF)
	h.complete(id)
	pending := owner.submit("b.vcf", sampleVCF)
	eve := h.signIn("Eve", "eve@example.org", domain.TierPremium)
	tok := eve.newToken("eve")
	for _, jid := range []domain.JobID{id, pending, "does-not-exist"} {
		base := "/annotations/" + string(jid)
		for _, p := range []string{base, base + "/status", base + "/log", base + "/input", base + "/download/vcf",
			base + "/download/tsv", base + "/download/jsonl", base + "/variants.tsv?impact=HIGH", base + "?page=2"} {
			if r := eve.get(p); r.StatusCode != 404 {
				t.Fatalf("other user GET %s: %d", p, r.StatusCode)
			}
		}
		if r := eve.postCSRF(base+"/cancel", nil); r.StatusCode != 404 {
			t.Fatalf("other user cancel: %d", r.StatusCode)
		}
		api := "/api/v1/jobs/" + string(jid)
		for _, p := range []string{api, api + "/result", api + "/summary", api + "/log"} {
			req, _ := http.NewRequest(http.MethodGet, h.ts.URL+p, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if r := eve.do(req); r.StatusCode != 404 {
				t.Fatalf("other user API GET %s: %d", p, r.StatusCode)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+api+"/cancel", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if r := eve.do(req); r.StatusCode != 404 {
			t.Fatalf("other user API cancel: %d", r.StatusCode)
		}
	}
	if r := eve.get("/annotations/status?ids=" + string(pending)); strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("status list leaks: %s", r.body)
	}
	if r := eve.get("/annotations"); strings.Contains(r.body, string(id)) {
		t.Fatal("list shows another user's job")
	}
	// The pending job was not cancelled by anyone else.
	j, _ := h.jobs.Get(context.Background(), owner.userID(), pending)
	if j.Status() != domain.StatusPending {
		t.Fatalf("pending job is %s", j.Status())
	}
	// Another user's token cannot be revoked either.
	toks, _ := h.tokens.List(context.Background(), eve.userID())
	if r := owner.postCSRF("/profile/tokens/"+toks[0].ID+"/delete", nil); r.StatusCode != 404 {
		t.Fatalf("revoke other's token: %d", r.StatusCode)
	}
}

func TestCancelPendingJob(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	if r := b.postCSRF("/annotations/"+string(id)+"/cancel", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	if r := b.get("/annotations/" + string(id)); !strings.Contains(r.body, "Job cancelled") || !strings.Contains(r.body, "CANCELLED") {
		t.Fatal("cancelled page")
	}
	done := b.submit("b.vcf", sampleVCF)
	h.complete(done)
	b.postCSRF("/annotations/"+string(done)+"/cancel", nil)
	if r := b.get("/annotations/" + string(done)); !strings.Contains(r.body, "can no longer be cancelled") {
		t.Fatal("cancel of a completed job not explained")
	}
}
