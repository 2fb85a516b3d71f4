package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports/message"
)

// TestRetryAJobFailedByTheService: a job FAILED through no fault of its
// file offers "retry"; retrying queues it again. A job that failed on its
// input offers none, and a forged retry of it is refused.
func TestRetryAJobFailedByTheService(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.mutate(id, func(j *domain.Job) error { return j.Claim(h.clock.Now(), time.Minute, 3) })
	h.mutate(id, func(j *domain.Job) error { return j.Abandon(h.clock.Now(), "dead letter") })
	page := "/annotations/" + string(id)
	if r := b.get(page); !strings.Contains(r.body, `id="retry-form"`) {
		t.Fatalf("no retry offered for a job failed by the service: %s", between(r.body, "<main", "</main>"))
	}
	before, _ := h.requests.Stats(context.Background())
	if r := b.postCSRF(page+"/retry", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d", r.StatusCode)
	}
	after, _ := h.requests.Stats(context.Background())
	if r := b.get(page); !strings.Contains(r.body, "The job is queued again") || !strings.Contains(r.body, "PENDING") || after.Visible != before.Visible+1 {
		t.Fatalf("after retry (requests %d -> %d): %s", before.Visible, after.Visible, between(r.body, "<main", "</main>"))
	}

	bad := b.submit("broken.vcf", "garbage")
	h.fail(bad, "bad input: line 1: a VCF record needs at least 8 columns")
	if r := b.get("/annotations/" + string(bad)); strings.Contains(r.body, `id="retry-form"`) {
		t.Fatal("retry offered for a job that failed on its input")
	}
	b.postCSRF("/annotations/"+string(bad)+"/retry", nil)
	if r := b.get("/annotations/" + string(bad)); !strings.Contains(r.body, "cannot be retried now") || !strings.Contains(r.body, "FAILED") {
		t.Fatalf("forged retry: %s", between(r.body, "<main", "</main>"))
	}
}

// TestRetryALateRestore: a restore past its expected time offers "retry",
// which asks the restorer to check it again; one on time offers none.
func TestRetryALateRestore(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	h.mutate(id, func(j *domain.Job) error { return j.Archived("arch-1") })
	h.mutate(id, func(j *domain.Job) error {
		return j.RestoreStarted("ret-1", domain.RetrievalExpedited, h.clock.Now().Add(5*time.Minute))
	})
	page := "/annotations/" + string(id)
	if r := b.get(page); strings.Contains(r.body, `id="retry-form"`) {
		t.Fatal("retry offered for a restore on time")
	}
	h.clock.Advance(6 * time.Minute)
	if r := b.get(page); !strings.Contains(r.body, `id="retry-form"`) || !strings.Contains(r.body, "longer than expected") {
		t.Fatalf("late restore: %s", between(r.body, "<main", "</main>"))
	}
	b.postCSRF(page+"/retry", nil)
	ms, err := h.restores.Receive(context.Background(), 1, time.Minute, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("restore check: %v %v", ms, err)
	}
	if m, err := message.Decode(ms[0].Body); err != nil || m.Kind != message.KindRestore || m.Job != id {
		t.Fatalf("restore check %s: %v", ms[0].Body, err)
	}
	if r := b.get(page); !strings.Contains(r.body, "being checked again") {
		t.Fatalf("after retry: %s", between(r.body, "<main", "</main>"))
	}
}

// TestRefusedNoticeIsShown: the job page says why its owner was not
// e-mailed.
func TestRefusedNoticeIsShown(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	h.mutate(id, func(j *domain.Job) error { return j.NoticeRejected(h.clock.Now(), "Email address is not verified.") })
	r := b.get("/annotations/" + string(id))
	if !strings.Contains(r.body, "E-mail could not be delivered: Email address is not verified.") {
		t.Fatalf("job page: %s", between(r.body, "<main", "</main>"))
	}
}

// TestDownloadAtTheWindowEnd: the instant a free user's window ends the
// download answers "archived — upgrade to download" (409), never a 500,
// whether or not the archiver has moved the results yet; an instant before
// it is the result.
func TestDownloadAtTheWindowEnd(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	done := h.complete(id)
	end := done.CompletedAt().Add(domain.DefaultPolicy().FreeWindow)
	path := "/annotations/" + string(id) + "/download/vcf"
	h.clock.Set(end.Add(-time.Nanosecond))
	if r := b.get(path); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("an instant before the end: %d, want the redirect to the result", r.StatusCode)
	}
	h.clock.Set(end)
	for _, p := range []string{path, "/annotations/" + string(id) + "/download/tsv", "/annotations/" + string(id) + "/variants.tsv"} {
		if r := b.get(p); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Upgrade to premium") {
			t.Fatalf("%s at the end: %d %s", p, r.StatusCode, between(r.body, "<main", "</main>"))
		}
	}
	if r := b.get("/annotations/" + string(id)); !strings.Contains(r.body, "Upgrade to download") {
		t.Fatalf("job page at the end: %s", between(r.body, "<main", "</main>"))
	}
}

// TestReconcileMetrics: a reconciliation's findings are in /metrics under
// the names the deployment's alarms use.
func TestReconcileMetrics(t *testing.T) {
	m := web.NewMetrics()
	m.ObserveReconcile(workers.Report{Started: time.Unix(1700000000, 0), Scanned: 7, Deferred: 2, Errors: 1,
		Found: map[workers.Finding]int{workers.FindingNoticeUnsent: 3}}, nil)
	m.ObserveReconcile(workers.Report{}, errors.New("scan failed"))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`gas_reconcile_findings{finding="notice_unsent"} 3`, `gas_reconcile_findings{finding="pending_unrequested"} 0`,
		`gas_reconcile_repairs_total{finding="notice_unsent"} 3`, `gas_reconcile_deferred 2`, `gas_reconcile_errors_total 1`,
		`gas_reconcile_runs_total{outcome="ok"} 1`, `gas_reconcile_runs_total{outcome="error"} 1`,
		`gas_reconcile_jobs_scanned 7`, `gas_reconcile_last_success_timestamp_seconds 1.7e+09`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAPIRetry: the JSON API retries a job failed by the service and
// refuses any other; a refused notice is in the job's JSON.
func TestAPIRetry(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	token := b.newToken("script")
	id := b.submit("a.vcf", sampleVCF)
	h.mutate(id, func(j *domain.Job) error { return j.Claim(h.clock.Now(), time.Minute, 3) })
	h.mutate(id, func(j *domain.Job) error { return j.Abandon(h.clock.Now(), "dead letter") })
	h.mutate(id, func(j *domain.Job) error { return j.NoticeRejected(h.clock.Now(), "Email address is not verified.") })
	call := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, h.ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := call(http.MethodGet, "/api/v1/jobs/"+string(id)); code != http.StatusOK ||
		!strings.Contains(body, `"notice_error":"Email address is not verified."`) {
		t.Fatalf("job JSON: %d %s", code, body)
	}
	if code, body := call(http.MethodPost, "/api/v1/jobs/"+string(id)+"/retry"); code != http.StatusOK || !strings.Contains(body, `"status":"PENDING"`) {
		t.Fatalf("retry: %d %s", code, body)
	}
	if code, _ := call(http.MethodPost, "/api/v1/jobs/"+string(id)+"/retry"); code != http.StatusConflict {
		t.Fatalf("retry of a pending job: %d, want 409", code)
	}
}
