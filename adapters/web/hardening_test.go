package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
)

// apiReq makes an API request with the token.
func apiReq(t *testing.T, h *harness, method, path, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, nil)
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// HEAD answers every page GET answers, without a body (it was a 405 on
// signed-in pages, /signin and /samples/*).
func TestHeadOnPages(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	anonymous := h.browser()
	for _, path := range []string{"/", "/signin", "/samples/sample.vcf", "/profile", "/annotations", "/annotations/" + string(id), "/subscribe"} {
		req, _ := http.NewRequest(http.MethodHead, h.ts.URL+path, nil)
		who := b
		if path == "/signin" {
			who = anonymous // signed in, /signin sends you on to your annotations
		}
		r := who.do(req)
		if r.StatusCode != http.StatusOK || r.body != "" {
			t.Errorf("HEAD %s: %d with %d body bytes, want 200 and none", path, r.StatusCode, len(r.body))
		}
	}
}

// A 405 says which methods the path takes; the API answers HEAD and
// OPTIONS (they were 404s).
func TestMethodNotAllowedSaysWhatIsAllowed(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	tok := b.newToken("t")
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPost, "/about", "GET, HEAD"},
		{http.MethodDelete, "/annotate", "GET, HEAD, POST"},
		{http.MethodPut, "/api/v1/jobs", "GET, HEAD, POST"},
		{http.MethodGet, "/signout", "POST"},
	} {
		r := b.do(apiReq(t, h, c.method, c.path, tok))
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", c.method, c.path, r.StatusCode, r.Header.Get("Allow"), c.allow)
		}
	}
	if r := b.do(apiReq(t, h, http.MethodHead, "/api/v1/jobs", tok)); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD /api/v1/jobs: %d", r.StatusCode)
	}
	r := b.do(apiReq(t, h, http.MethodOptions, "/api/v1/jobs/abc", ""))
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Allow") != "GET, HEAD, PATCH, DELETE, OPTIONS" {
		t.Errorf("OPTIONS /api/v1/jobs/abc: %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
	if r := b.do(apiReq(t, h, http.MethodOptions, "/api/v1/nope", "")); r.StatusCode != http.StatusNotFound {
		t.Errorf("OPTIONS on an unknown API path: %d, want 404", r.StatusCode)
	}
}

// A page number past the end, however large, shows the last page.
func TestVariantTablePageIsClamped(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	for _, page := range []string{"9223372036854775807", "368934881474191034", "99999999999999999999999", "-5", "x"} {
		r := b.get("/annotations/" + string(id) + "?page=" + page + "#variants")
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, "could not be read") || !strings.Contains(r.body, "rs42") {
			t.Errorf("page=%s: %d, table shown: %v", page, r.StatusCode, strings.Contains(r.body, "rs42"))
		}
	}
}

// Inputs, results, summaries and logs are never cached (pages and API),
// and the API serves the annotated VCF as text/x-vcf.
func TestUsersFilesAreNotCached(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	tok := b.newToken("t")
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	base := "/annotations/" + string(id)
	for _, path := range []string{base, base + "/input", base + "/log", base + "/download/tsv", base + "/variants.tsv", "/annotations"} {
		if r := b.get(path); r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, Cache-Control %q", path, r.StatusCode, r.Header.Get("Cache-Control"))
		}
	}
	api := "/api/v1/jobs/" + string(id)
	for _, path := range []string{api, api + "/result", api + "/summary", api + "/log"} {
		if r := b.do(apiReq(t, h, http.MethodGet, path, tok)); r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, Cache-Control %q", path, r.StatusCode, r.Header.Get("Cache-Control"))
		}
	}
	if r := b.do(apiReq(t, h, http.MethodGet, api+"/result", tok)); r.Header.Get("Content-Type") != "text/x-vcf; charset=utf-8" {
		t.Errorf("API result served as %q, want text/x-vcf", r.Header.Get("Content-Type"))
	}
}

// The Origin check compares scheme, host and port, and a request with two
// Authorization headers is refused.
func TestOriginSchemeAndDuplicateAuthorization(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	tok := b.newToken("t")
	u := mustURL(h.ts.URL)
	for origin, want := range map[string]int{
		"https://" + u.Host:      http.StatusForbidden, // same host, other scheme
		"http://evil.example":    http.StatusForbidden,
		"http://" + u.Host:       http.StatusSeeOther, // the new token's page, by POST-redirect-GET
		"http://" + u.Host + "/": http.StatusSeeOther,
	} {
		form := url.Values{"name": {"n"}, "csrf_token": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/profile/tokens", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", strings.TrimSuffix(origin, "/"))
		if r := b.do(req); r.StatusCode != want {
			t.Errorf("Origin %s: %d, want %d", origin, r.StatusCode, want)
		}
	}
	req := apiReq(t, h, http.MethodGet, "/api/v1/me", tok)
	req.Header.Add("Authorization", "Bearer gas_someone-else")
	if r := b.do(req); r.StatusCode != http.StatusBadRequest {
		t.Errorf("two Authorization headers: %d, want 400", r.StatusCode)
	}
	// An HTTPS site takes its own origin only, whatever host the request names.
	hs := newHarness(t, func(o *web.Options, _ *web.Deps) { o.BaseURL = "https://gas.example.org" })
	bs := hs.browser()
	bs.get("/signin")
	for origin, want := range map[string]int{"http://" + mustURL(hs.ts.URL).Host: http.StatusForbidden, "https://gas.example.org": http.StatusSeeOther} {
		form := url.Values{"name": {"Ada"}, "email": {"ada@example.org"}, "csrf_token": {bs.csrf}}
		req, _ := http.NewRequest(http.MethodPost, hs.ts.URL+"/auth/dev", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if r := bs.do(req); r.StatusCode != want {
			t.Errorf("HTTPS site, Origin %s: %d, want %d", origin, r.StatusCode, want)
		}
	}
}

func TestStaticDoesNotList(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	if r := b.get("/static/"); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "gas.css") {
		t.Errorf("/static/: %d %q", r.StatusCode, r.body)
	}
	if r := b.get("/static/gas.css"); r.StatusCode != http.StatusOK {
		t.Errorf("/static/gas.css: %d", r.StatusCode)
	}
}

// A file name with Unicode direction controls is refused at upload.
func TestBidiControlsInFileNamesAreRefused(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	r := b.upload("/annotate", b.csrf, "invoice\u202Efcv.exe.vcf", []byte(sampleVCF))
	// POST-redirect-GET: the refusal is the form's page of its own.
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(b.get(r.Header.Get("Location")).body, "direction controls") {
		t.Fatalf("bidi name: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// logs keeps a server's log records.
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A multipart body cut before its closing boundary is the client's fault:
// 400 and a warning, not 500 and an error (page and API).
func TestTruncatedMultipartIsABadRequest(t *testing.T) {
	var l logs
	h := newHarness(t, func(o *web.Options, _ *web.Deps) {
		o.Logger = slog.New(slog.NewTextHandler(&l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	tok := b.newToken("t")
	cut := func(csrf string) (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if csrf != "" {
			_ = mw.WriteField("csrf_token", csrf)
		}
		fw, _ := mw.CreateFormFile("file", "a.vcf")
		_, _ = fw.Write([]byte(sampleVCF))
		return &buf, mw.FormDataContentType() // no Close: no closing boundary
	}
	body, ctype := cut(b.csrf)
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/annotate", body)
	req.Header.Set("Content-Type", ctype)
	if r := b.do(req); r.StatusCode != http.StatusBadRequest {
		t.Errorf("page upload cut short: %d, want 400", r.StatusCode)
	}
	body, ctype = cut("")
	req = apiReq(t, h, http.MethodPost, "/api/v1/jobs", tok)
	req.Body, req.ContentLength = io.NopCloser(body), int64(body.Len())
	req.Header.Set("Content-Type", ctype)
	if r := b.do(req); r.StatusCode != http.StatusBadRequest {
		t.Errorf("API upload cut short: %d, want 400", r.StatusCode)
	}
	out := l.String()
	if strings.Count(out, "level=WARN msg=\"upload cut short\"") != 2 || strings.Contains(out, "level=ERROR") {
		t.Errorf("logs:\n%s", out)
	}
}

// rawPost opens a connection and sends a request's head; the body is
// written by the caller. It returns the connection and a reader of the
// response status line.
func rawPost(t *testing.T, h *harness, path, ctype string, length int, cookies string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", mustURL(h.ts.URL).Host)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCookie: %s\r\n\r\n",
		path, mustURL(h.ts.URL).Host, h.ts.URL, ctype, length, cookies)
	return c
}

// closedWithin reports whether the server ends the connection (answers and
// closes, or drops it) within d while the client writes a byte every
// interval.
func closedWithin(c net.Conn, d, interval time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(time.Now().Add(interval))
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err == nil || !isTimeout(err) {
			return true
		}
		if _, err := c.Write([]byte("x")); err != nil {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// A body trickled a byte at a time is cut after the body timeout, on a
// form and on the streaming upload; an upload that keeps coming may take
// longer than the timeout.
func TestSlowBodiesAreCut(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.BodyTimeout = 300 * time.Millisecond })
	b := h.signIn("Ada", "ada@example.org", domain.TierFree)
	var cookies []string
	for _, c := range b.c.Jar.Cookies(mustURL(h.ts.URL)) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	cookie := strings.Join(cookies, "; ")
	form := rawPost(t, h, "/profile/tokens", "application/x-www-form-urlencoded", 1000, cookie)
	if !closedWithin(form, 3*time.Second, 50*time.Millisecond) {
		t.Error("a form body trickled a byte at a time was not cut within 3 s")
	}
	upload := rawPost(t, h, "/annotate", "multipart/form-data; boundary=xyz", 1<<20, cookie)
	if !closedWithin(upload, 3*time.Second, 50*time.Millisecond) {
		t.Error("an upload trickled a byte at a time was not cut within 3 s")
	}
	// 1.2 MB in 64 KB steps every 100 ms: 2 s in all, always progressing.
	data := []byte(sampleVCF + strings.Repeat("chr1\t100\t.\tA\tG\t50\tPASS\t.\n", 1_200_000/31))
	h2 := newHarness(t, func(o *web.Options, _ *web.Deps) { o.BodyTimeout = 300 * time.Millisecond })
	p := h2.signIn("Ada", "ada@example.org", domain.TierPremium)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf_token", p.csrf)
	fw, _ := mw.CreateFormFile("file", "slow.vcf")
	_, _ = fw.Write(data)
	_ = mw.Close()
	pr, pw := io.Pipe()
	go func() {
		all := buf.Bytes()
		for len(all) > 0 {
			n := min(len(all), 64<<10)
			if _, err := pw.Write(all[:n]); err != nil {
				return
			}
			all = all[n:]
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h2.ts.URL+"/annotate", pr)
	req.ContentLength = int64(buf.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start := time.Now()
	if r := p.do(req); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a progressing upload taking %s: %d", time.Since(start), r.StatusCode)
	}
}
