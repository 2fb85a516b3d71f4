package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
)

func TestAPIWithTokens(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	api := &apiCall{h, b.newToken("script")}
	call := api.do
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
	if r := call("GET", "/api/v1/jobs/"+job.ID+"/result", nil, ""); r.StatusCode != 200 || !strings.Contains(r.body, "ANN=") ||
		r.Header.Get("Content-Type") != "text/x-vcf; charset=utf-8" {
		t.Fatalf("result: %d as %q", r.StatusCode, r.Header.Get("Content-Type"))
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
	saved := api.tok
	api.tok = ""
	if r := call("GET", "/api/v1/jobs", nil, ""); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	api.tok = "gas_forged"
	if r := call("GET", "/api/v1/jobs", nil, ""); r.StatusCode != 401 {
		t.Fatalf("forged token: %d", r.StatusCode)
	}
	api.tok = saved
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

// A token's last use is recorded to the minute, so a script polling the
// API does not turn every read into a store write.
func TestTokenLastUseIsRecordedPerMinute(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	tok := b.newToken("poller")
	me := func() {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if r := b.do(req); r.StatusCode != http.StatusOK {
			t.Fatalf("me: %d", r.StatusCode)
		}
	}
	lastUse := func() time.Time {
		toks, err := h.tokens.List(context.Background(), b.userID())
		must(t, err)
		for _, x := range toks {
			if x.Name == "poller" {
				return x.LastUsed
			}
		}
		t.Fatal("token gone")
		return time.Time{}
	}
	me()
	first := lastUse()
	h.clock.Advance(30 * time.Second)
	me()
	if got := lastUse(); !got.Equal(first) {
		t.Fatalf("last use rewritten after 30 s: %s, was %s", got, first)
	}
	h.clock.Advance(31 * time.Second)
	me()
	if got := lastUse(); !got.After(first) {
		t.Fatalf("last use not recorded a minute later: %s", got)
	}
}
