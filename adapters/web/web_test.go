package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func TestPublicPagesAndSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for _, p := range []string{"/", "/about", "/signin", "/static/gas.css", "/static/gas.js", "/healthz", "/readyz"} {
		r := b.get(p)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, r.StatusCode)
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("GET %s: CSP %q", p, csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("GET %s: missing nosniff/frame headers", p)
		}
	}
	home := b.get("/")
	if !strings.Contains(home.body, "synthetic-test-ref") || !strings.Contains(home.body, "150 KB") {
		t.Fatalf("home does not show reference and limits")
	}
	if strings.Contains(home.body, "<script>") || strings.Contains(home.body, " style=") || strings.Contains(home.body, "onclick") {
		t.Fatal("inline script or style in page")
	}
	if r := b.get("/jobs/abc"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/annotations/abc" {
		t.Fatalf("e-mail link redirect: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/nope"); r.StatusCode != 404 || !strings.Contains(r.body, "Not found") {
		t.Fatalf("unknown route: %d", r.StatusCode)
	}
	if r := b.get("/api/v1/nope"); r.StatusCode != 401 && r.StatusCode != 404 {
		t.Fatalf("unknown api route: %d", r.StatusCode)
	}
}

func TestProtectedPagesNeedSignIn(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for _, p := range []string{"/profile", "/annotate", "/annotations", "/annotations/abc", "/annotations/abc/log",
		"/annotations/abc/download/vcf", "/subscribe", "/outbox", "/annotations/status?ids=abc"} {
		r := b.get(p)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
			t.Fatalf("GET %s anonymous: %d -> %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// After signing in the browser lands where it wanted to go.
	b.get("/profile")
	b.get("/signin")
	r := b.postCSRF("/auth/dev", url.Values{"name": {"Ann"}, "email": {"ann@example.org"}})
	if r.Header.Get("Location") != "/profile" {
		t.Fatalf("post-sign-in redirect %q", r.Header.Get("Location"))
	}
}

func TestDevSignInSessionCookie(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.get("/signin")
	r := b.postCSRF("/auth/dev", url.Values{"name": {"Ada"}, "email": {"ada@example.org"}, "institution": {"Engine Lab"}, "tier": {"FREE"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	var sc *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "gas_session" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
		t.Fatalf("session cookie %+v", sc)
	}
	if strings.Contains(sc.Value, "ada") {
		t.Fatal("session cookie is not encrypted")
	}
	p := b.get("/profile")
	for _, want := range []string{"Ada", "ada@example.org", "Engine Lab", "FREE", "Member since"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("profile lacks %q", want)
		}
	}
	// A tampered cookie is an anonymous session.
	u, _ := url.Parse(h.ts.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gas_session", Value: sc.Value[:len(sc.Value)-4] + "AAAA", Path: "/"}})
	if r := b.get("/profile"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("tampered cookie accepted: %d", r.StatusCode)
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.BaseURL = "https://gas.example.org" })
	r := h.browser().get("/signin")
	found := false
	for _, c := range r.Cookies() {
		if c.Name == "gas_session" {
			found = true
			if !c.Secure {
				t.Fatal("cookie not Secure on an HTTPS deployment")
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
	if !strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age") {
		t.Fatal("no HSTS on HTTPS deployment")
	}
}

func TestDevSignInOnlyInLocalMode(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.DevSignIn = false; o.Outbox = nil })
	b := h.browser()
	p := b.get("/signin")
	if strings.Contains(p.body, "Development sign-in") {
		t.Fatal("dev sign-in offered outside local mode")
	}
	if r := b.postCSRF("/auth/dev", url.Values{"name": {"X"}, "email": {"x@example.org"}}); r.StatusCode != 404 {
		t.Fatalf("dev sign-in outside local mode: %d", r.StatusCode)
	}
}

func TestCSRFRefusals(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	tok := b.newToken("t")
	_ = tok
	toks, _ := h.tokens.List(context.Background(), b.userID())
	forms := []string{"/auth/dev", "/signout", "/profile/tokens", "/profile/tokens/" + toks[0].ID + "/delete",
		"/samples/sample.vcf/submit", "/annotations/" + string(id) + "/cancel", "/subscribe", "/subscribe/cancel"}
	for _, p := range forms {
		// no token
		if r := b.post(p, url.Values{"name": {"x"}, "email": {"x@example.org"}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("POST %s without CSRF token: %d", p, r.StatusCode)
		}
		// wrong token
		if r := b.post(p, url.Values{"csrf_token": {"forged"}, "name": {"x"}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("POST %s with forged token: %d", p, r.StatusCode)
		}
		// right token, foreign origin
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+p, strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		if r := b.do(req); r.StatusCode != http.StatusForbidden {
			t.Fatalf("POST %s from another origin: %d", p, r.StatusCode)
		}
	}
	// The streaming upload checks the token before reading the file.
	before := len(h.objects.keys("inputs/"))
	if r := b.upload("/annotate", "", "x.vcf", []byte(sampleVCF)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("upload without token: %d", r.StatusCode)
	}
	if r := b.upload("/annotate", "forged", "x.vcf", []byte(sampleVCF)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("upload with forged token: %d", r.StatusCode)
	}
	if after := len(h.objects.keys("inputs/")); after != before {
		t.Fatalf("refused uploads stored objects: %d -> %d", before, after)
	}
	// Nothing changed: the job is still pending, the user still signed in and free.
	j, _ := h.jobs.Get(context.Background(), b.userID(), id)
	if j.Status() != domain.StatusPending {
		t.Fatalf("job %s after refused cancel", j.Status())
	}
	if r := b.get("/profile"); r.StatusCode != 200 || !strings.Contains(r.body, "FREE") {
		t.Fatal("refused forms changed the session or plan")
	}
}

func TestUploadStreamsAndEnforcesTierLimit(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	page := b.get("/annotate")
	if !strings.Contains(page.body, `action="/annotate"`) || !strings.Contains(page.body, "150 KB") || !strings.Contains(page.body, "sample.vcf") {
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
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "Upgrade to premium") || !strings.Contains(r.body, "150 KB") {
		t.Fatalf("151 KB upload: %d %s", r.StatusCode, r.body)
	}
	if after := h.objects.keys("inputs/"); len(after) != len(before) {
		t.Fatalf("refused upload left objects: %v", after)
	}
	list, _, _ := h.jobs.List(context.Background(), b.userID(), "", 10)
	if len(list) != 1 {
		t.Fatalf("refused upload made a job: %d jobs", len(list))
	}
	// Not a VCF.
	if r := b.upload("/annotate", b.csrf, "notes.txt", []byte("hello")); r.StatusCode != 400 || !strings.Contains(r.body, "must end in .vcf") {
		t.Fatalf("non-VCF: %d", r.StatusCode)
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
		"Variants by class", "top-genes", "GENE1", "Showing 1–50 of 120 variants", "Page 1 of 3", "/download/vcf", "/download/tsv",
		"/download/jsonl", "downloadable until", "stop gained"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("detail page lacks %q", want)
		}
	}
	// Filter, sort and page server-side.
	r = b.get("/annotations/" + string(id) + "?impact=HIGH&sort=position")
	if !strings.Contains(r.body, "Showing 1–30 of 30 variants") || strings.Contains(r.body, "impact-moderate") {
		t.Fatalf("impact filter: %s", between(r.body, "variant-count", "</p>"))
	}
	r = b.get("/annotations/" + string(id) + "?sort=position&desc=1&page=3")
	if !strings.Contains(r.body, "Showing 101–120 of 120") || !strings.Contains(r.body, "chr1:2000") {
		t.Fatalf("desc page 3: %s", between(r.body, "variant-count", "</p>"))
	}
	r = b.get("/annotations/" + string(id) + "?gene=GENE3&known=known")
	if !strings.Contains(r.body, "of 6 variants") {
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

func TestSubscribeUpgradeAndCancel(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	p := b.get("/subscribe")
	if !strings.Contains(p.body, "Upgrade to premium") || !strings.Contains(p.body, "no card needed") {
		t.Fatal("subscribe page")
	}
	r := b.postCSRF("/subscribe", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upgrade: %d", r.StatusCode)
	}
	list := b.get("/annotations")
	if !strings.Contains(list.body, "Restoring your archived results has started") {
		t.Fatal("upgrade does not say restores started")
	}
	if st, _ := h.thaws.Stats(context.Background()); st.Visible != 1 {
		t.Fatalf("thaw not requested: %+v", st)
	}
	u, _ := h.accounts.Profile(context.Background(), b.userID())
	if !u.Premium() {
		t.Fatal("not premium after upgrade")
	}
	if !strings.Contains(b.get("/annotate").body, "2 GB") {
		t.Fatal("premium limit not shown")
	}
	b.get("/subscribe")
	b.postCSRF("/subscribe/cancel", nil)
	u, _ = h.accounts.Profile(context.Background(), b.userID())
	if u.Premium() {
		t.Fatal("still premium after cancel")
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	if r := b.postCSRF("/signout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	if r := b.get("/annotations"); r.StatusCode != http.StatusSeeOther {
		t.Fatal("still signed in after sign-out")
	}
}

func TestOutboxPage(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	must(t, h.outbox.Send(context.Background(), ports.Email{To: "ann@example.org", Subject: "Your annotation is ready", Text: "see it"}))
	must(t, h.outbox.Send(context.Background(), ports.Email{To: "other@example.org", Subject: "Secret of someone else", Text: "x"}))
	r := b.get("/outbox")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Your annotation is ready") || strings.Contains(r.body, "Secret of someone else") {
		t.Fatalf("outbox: %d", r.StatusCode)
	}
	h2 := newHarness(t, func(o *web.Options, _ *web.Deps) { o.Outbox = nil })
	b2 := h2.signIn("Ann", "ann@example.org", domain.TierFree)
	if r := b2.get("/outbox"); r.StatusCode != 404 {
		t.Fatalf("outbox outside local mode: %d", r.StatusCode)
	}
	if strings.Contains(b2.get("/annotations").body, `href="/outbox"`) {
		t.Fatal("outbox link outside local mode")
	}
}

func TestAPIWithTokens(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	tok := b.newToken("script")
	call := func(method, path string, body io.Reader, ctype string) resp {
		req, _ := http.NewRequest(method, h.ts.URL+path, body)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		r, err := http.DefaultClient.Do(req)
		must(t, err)
		defer r.Body.Close()
		bb, _ := io.ReadAll(r.Body)
		return resp{r, string(bb)}
	}
	me := call("GET", "/api/v1/me", nil, "")
	if me.StatusCode != 200 || !strings.Contains(me.body, `"email":"ann@example.org"`) {
		t.Fatalf("me: %d %s", me.StatusCode, me.body)
	}
	var buf bytes.Buffer
	ct := multipartWriter(&buf, nil, "file", "api.vcf", []byte(sampleVCF))
	sub := call("POST", "/api/v1/jobs", &buf, ct)
	if sub.StatusCode != 201 {
		t.Fatalf("submit: %d %s", sub.StatusCode, sub.body)
	}
	var job struct {
		ID     string
		Status string
	}
	must(t, json.Unmarshal([]byte(sub.body), &job))
	if job.Status != "PENDING" || sub.Header.Get("Location") != "/api/v1/jobs/"+job.ID {
		t.Fatalf("submitted %+v", job)
	}
	if r := call("GET", "/api/v1/jobs/"+job.ID+"/result", nil, ""); r.StatusCode != http.StatusConflict {
		t.Fatalf("result before completion: %d", r.StatusCode)
	}
	h.complete(domain.JobID(job.ID))
	if r := call("GET", "/api/v1/jobs/"+job.ID+"/result", nil, ""); r.StatusCode != 200 || !strings.Contains(r.body, "ANN=") {
		t.Fatalf("result: %d", r.StatusCode)
	}
	if r := call("GET", "/api/v1/jobs/"+job.ID+"/summary", nil, ""); r.StatusCode != 200 || !strings.Contains(r.body, `"by_impact"`) {
		t.Fatalf("summary: %d", r.StatusCode)
	}
	if r := call("GET", "/api/v1/jobs/"+job.ID+"/log", nil, ""); r.StatusCode != 200 || !strings.Contains(r.body, "GAS annotation summary") {
		t.Fatalf("log: %d", r.StatusCode)
	}
	g := call("GET", "/api/v1/jobs/"+job.ID, nil, "")
	if !strings.Contains(g.body, `"status":"COMPLETED"`) || !strings.Contains(g.body, `"state":"allowed"`) || !strings.Contains(g.body, `"archive_at"`) {
		t.Fatalf("get: %s", g.body)
	}
	l := call("GET", "/api/v1/jobs?limit=10", nil, "")
	if !strings.Contains(l.body, job.ID) {
		t.Fatalf("list: %s", l.body)
	}
	// Cancel through the API: a pending job is withdrawn, a finished one refused.
	buf.Reset()
	ct = multipartWriter(&buf, nil, "file", "cancel-me.vcf", []byte(sampleVCF))
	var pending struct{ ID string }
	must(t, json.Unmarshal([]byte(call("POST", "/api/v1/jobs", &buf, ct).body), &pending))
	if r := call("POST", "/api/v1/jobs/"+pending.ID+"/cancel", nil, ""); r.StatusCode != 200 || !strings.Contains(r.body, `"status":"CANCELLED"`) {
		t.Fatalf("API cancel: %d %s", r.StatusCode, r.body)
	}
	if r := call("POST", "/api/v1/jobs/"+job.ID+"/cancel", nil, ""); r.StatusCode != http.StatusConflict {
		t.Fatalf("API cancel of a completed job: %d", r.StatusCode)
	}
	big := bytes.Repeat([]byte("A"), 151*1024)
	buf.Reset()
	ct = multipartWriter(&buf, nil, "file", "big.vcf", big)
	if r := call("POST", "/api/v1/jobs", &buf, ct); r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "upgrade") {
		t.Fatalf("oversize API upload: %d %s", r.StatusCode, r.body)
	}
	buf.Reset()
	ct = multipartWriter(&buf, nil, "file", "x.txt", []byte("x"))
	if r := call("POST", "/api/v1/jobs", &buf, ct); r.StatusCode != 400 {
		t.Fatalf("non-VCF API upload: %d", r.StatusCode)
	}
	// No token, bad token, revoked token: 401; the API ignores cookies.
	saved := tok
	tok = ""
	if r := call("GET", "/api/v1/jobs", nil, ""); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	tok = "gas_forged"
	if r := call("GET", "/api/v1/jobs", nil, ""); r.StatusCode != 401 {
		t.Fatalf("forged token: %d", r.StatusCode)
	}
	tok = saved
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/me", nil)
	if r := b.do(req); r.StatusCode != 401 {
		t.Fatalf("API accepted a session cookie: %d", r.StatusCode)
	}
	toks, _ := h.tokens.List(context.Background(), b.userID())
	for _, tk := range toks {
		if tk.Name == "script" {
			if tk.LastUsed.IsZero() {
				t.Fatal("token last use not recorded")
			}
			b.postCSRF("/profile/tokens/"+tk.ID+"/delete", nil)
		}
	}
	if r := call("GET", "/api/v1/me", nil, ""); r.StatusCode != 401 {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
	// The profile never shows a token's secret again.
	if p := b.get("/profile"); strings.Contains(p.body, saved) {
		t.Fatal("token secret shown again")
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	h := newHarness(t, func(_ *web.Options, d *web.Deps) {
		d.Metrics = web.NewMetrics()
	})
	h.srv.Metrics().WatchQueue("annotate", h.requests)
	h.srv.Metrics().CountJobs(func(ctx context.Context) (map[domain.Status]int, error) {
		return map[domain.Status]int{domain.StatusPending: 3}, nil
	})
	b := h.browser()
	b.get("/")
	if r := b.get("/healthz"); r.StatusCode != 200 {
		t.Fatalf("healthz %d", r.StatusCode)
	}
	h.ready = errors.New("queue unreachable")
	if r := b.get("/readyz"); r.StatusCode != 503 || !strings.Contains(r.body, "queue unreachable") {
		t.Fatalf("readyz not ready: %d", r.StatusCode)
	}
	h.ready = nil
	if r := b.get("/readyz"); r.StatusCode != 200 {
		t.Fatalf("readyz: %d", r.StatusCode)
	}
	m := b.get("/metrics")
	for _, want := range []string{`gas_http_request_duration_seconds_bucket{code="200",method="GET",route="/"`,
		`gas_queue_messages{queue="annotate",state="visible"} 0`, `gas_jobs{status="PENDING"} 3`, "gas_annotated_variants_total"} {
		if !strings.Contains(m.body, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	if _, err := web.New(web.Deps{}, web.Options{}); !errors.Is(err, web.ErrConfig) {
		t.Fatalf("empty deps: %v", err)
	}
	h := newHarness(t)
	_, err := web.New(web.Deps{Jobs: h.jobs, Accounts: h.accounts, Objects: h.objects, Tokens: h.tokens, Clock: h.clock},
		web.Options{SessionKey: []byte("short")})
	if !errors.Is(err, web.ErrConfig) {
		t.Fatalf("short key: %v", err)
	}
}
