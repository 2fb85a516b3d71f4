package web_test

import (
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

func TestDeleteJobAndItsFiles(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	id := b.submit("a.vcf", sampleVCF)
	h.complete(id)
	if n := len(h.objects.keys("")); n != 5 { // input, VCF, index, summary, log
		t.Fatalf("%d objects before delete", n)
	}
	page := b.get("/annotations/" + string(id)).body
	if !strings.Contains(page, `action="/annotations/`+string(id)+`/delete"`) || !strings.Contains(page, "data-confirm=") {
		t.Fatal("job page offers no delete (with confirmation)")
	}
	eve := h.signIn("Eve", "eve@example.org", domain.TierFree)
	if r := eve.postCSRF("/annotations/"+string(id)+"/delete", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another user's delete: %d", r.StatusCode)
	}
	r := b.postCSRF("/annotations/"+string(id)+"/delete", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/annotations" {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if list := b.get("/annotations").body; !strings.Contains(list, "a.vcf deleted, with its input and results.") || strings.Contains(list, "/annotations/"+string(id)+`"`) {
		t.Fatalf("list after delete: %s", between(list, "<main", "</main>"))
	}
	if left := h.objects.keys(""); len(left) != 0 {
		t.Fatalf("objects left after delete: %v", left)
	}
	if r := b.get("/annotations/" + string(id)); r.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted job page: %d", r.StatusCode)
	}
	// A running job cannot be deleted: its results would land after.
	run := b.submit("b.vcf", sampleVCF)
	h.mutate(run, func(j *domain.Job) error { return j.Claim(h.clock.Now(), time.Minute, 3) })
	if r := b.postCSRF("/annotations/"+string(run)+"/delete", nil); r.StatusCode != http.StatusSeeOther ||
		!strings.Contains(b.get(r.Header.Get("Location")).body, "cannot be deleted while it is being annotated") {
		t.Fatalf("delete of a running job: %d", r.StatusCode)
	}
	if _, err := h.store.Get(context.Background(), run); err != nil {
		t.Fatalf("running job gone: %v", err)
	}
}

func TestRenameSearchAndCountsInTheList(t *testing.T) {
	// Sessions outlive the days the jobs are submitted on.
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.PageSize, o.SessionTTL = 25, 30*24*time.Hour })
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	var ids []domain.JobID
	for _, name := range []string{"tumour.vcf", "normal.vcf", "trio.vcf", "broken.vcf"} {
		ids = append(ids, b.submit(name, sampleVCF))
		h.clock.Advance(24 * time.Hour)
	}
	h.complete(ids[0])
	h.complete(ids[2])
	h.fail(ids[3], "bad input: line 1: nonsense")
	r := b.postCSRF("/annotations/"+string(ids[0])+"/rename", url.Values{"name": {"Patient 7 tumour"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", r.StatusCode)
	}
	page := b.get("/annotations/" + string(ids[0])).body
	if !strings.Contains(page, "<h1 class=\"with-badge\">Patient 7 tumour") || !strings.Contains(page, "<code>tumour.vcf</code>") {
		t.Fatalf("renamed job page: %s", between(page, "<h1", "</dl>"))
	}
	if r := b.postCSRF("/annotations/"+string(ids[0])+"/rename", url.Values{"name": {strings.Repeat("x", 200)}}); !strings.Contains(b.get(r.Header.Get("Location")).body, "Not renamed: the name is longer than 120 characters.") {
		t.Fatal("a too long name was not refused in words")
	}
	list := b.get("/annotations").body
	// Counts: the sample has 4 alleles.
	if !strings.Contains(list, "Patient 7 tumour</a><br><span class=\"muted small\">tumour.vcf</span>") || strings.Count(list, `<td class="num">4</td>`) != 2 {
		t.Fatalf("list: %s", between(list, "<tbody>", "</tbody>"))
	}
	search := func(q string) string { return between(b.get("/annotations?"+q).body, "<tbody>", "</tbody>") }
	if got := search("name=patient"); !strings.Contains(got, "Patient 7") || strings.Contains(got, "normal.vcf") {
		t.Errorf("search by name: %s", got)
	}
	if got := search("name=TUMOUR.VCF"); !strings.Contains(got, "Patient 7") {
		t.Errorf("search by file name: %s", got)
	}
	if got := search("state=FAILED"); !strings.Contains(got, "broken.vcf") || strings.Count(got, "<tr") != 1 {
		t.Errorf("search by status: %s", got)
	}
	day := func(d int) string { return h.clock.Now().AddDate(0, 0, d).Format("2006-01-02") }
	if got := search("from=" + day(-3) + "&to=" + day(-2)); strings.Count(got, "<tr") != 2 || !strings.Contains(got, "normal.vcf") || !strings.Contains(got, "trio.vcf") {
		t.Errorf("search by date %s..%s: %s", day(-3), day(-2), got)
	}
	if body := b.get("/annotations?name=nothing-like-it").body; !strings.Contains(body, `id="no-match"`) {
		t.Error("an empty search says nothing")
	}
	// The API filters alike and shows names and counts.
	tok := b.newToken("t")
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/api/v1/jobs?state=COMPLETED", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var out struct {
		Jobs []struct {
			Name   string
			Counts *domain.Counts
		}
	}
	must(t, json.Unmarshal([]byte(b.do(req).body), &out))
	if len(out.Jobs) != 2 || out.Jobs[1].Name != "Patient 7 tumour" || out.Jobs[1].Counts == nil || out.Jobs[1].Counts.Variants != 4 {
		t.Fatalf("API search: %+v", out)
	}
	req, _ = http.NewRequest(http.MethodPatch, h.ts.URL+"/api/v1/jobs/"+string(ids[1]), strings.NewReader(`{"name":"Normal"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := b.do(req); r.StatusCode != 200 || !strings.Contains(r.body, `"name":"Normal"`) {
		t.Fatalf("API rename: %d %s", r.StatusCode, r.body)
	}
	req, _ = http.NewRequest(http.MethodDelete, h.ts.URL+"/api/v1/jobs/"+string(ids[1]), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := b.do(req); r.StatusCode != http.StatusNoContent {
		t.Fatalf("API delete: %d %s", r.StatusCode, r.body)
	}
	if _, err := h.store.Get(context.Background(), ids[1]); err == nil {
		t.Fatal("API delete left the job")
	}
}
