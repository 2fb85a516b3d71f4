package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
	if !strings.Contains(home.body, "synthetic-test-ref") || !strings.Contains(home.body, "150 KiB") {
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
	if len(r.Cookies()) == 0 {
		t.Fatal("no cookie for the sign-in form")
	}
	for _, c := range r.Cookies() {
		if !c.Secure {
			t.Fatalf("cookie %s not Secure on an HTTPS deployment", c.Name)
		}
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
	if !strings.Contains(b.get("/annotate").body, "2 GiB") {
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
	must(t, h.outbox.Send(context.Background(), ports.Email{User: b.userID(), To: "ann@example.org", Subject: "Your annotation is ready", Text: "see it"}))
	must(t, h.outbox.Send(context.Background(), ports.Email{User: "someone", To: "other@example.org", Subject: "Secret of someone else", Text: "x"}))
	r := b.get("/outbox")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Your annotation is ready") || strings.Contains(r.body, "Secret of someone else") {
		t.Fatalf("outbox: %d", r.StatusCode)
	}
	// Issue 9 item 8: addresses that fold to each other are different
	// users; the outbox goes by user id.
	sam := h.signIn("Sam", "sam@example.org", domain.TierFree)
	longS := h.signIn("Long S", "\u017fam@example.org", domain.TierFree)
	must(t, h.outbox.Send(context.Background(), ports.Email{User: sam.userID(), To: "sam@example.org", Subject: "Sam's results", Text: "x"}))
	if body := longS.get("/outbox").body; strings.Contains(body, "Sam&#39;s results") || strings.Contains(body, "Sam's results") {
		t.Fatal("\u017fam@example.org sees sam@example.org's mail")
	}
	if body := sam.get("/outbox").body; !strings.Contains(body, "Sam&#39;s results") {
		t.Fatal("sam does not see their own mail")
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
	if r := b.get("/metrics"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics without the token: %d, want 401", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	m := b.do(req)
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
	_, err := web.New(web.Deps{Jobs: h.jobs, Accounts: h.accounts, Objects: h.objects, Tokens: h.tokens, Sessions: h.sessions, Clock: h.clock},
		web.Options{SessionKey: []byte("short")})
	if !errors.Is(err, web.ErrConfig) {
		t.Fatalf("short key: %v", err)
	}
}
