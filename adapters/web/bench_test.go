package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
)

// BenchmarkJobListFirstPage measures the handler cost of the job list's
// first page for a user with 10,000 jobs (the load target is 5,000 req/s).
func BenchmarkJobListFirstPage(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t)
	defer h.ts.Close()
	br := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	uid := br.userID()
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		j, err := domain.NewJob(domain.JobID(fmt.Sprintf("job%05d", i)), uid, "f.vcf", "inputs/x/job/input", 100, h.clock.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := h.store.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
		h.clock.Advance(time.Millisecond)
	}
	req := httptest.NewRequest(http.MethodGet, "/annotations", nil)
	for _, c := range br.c.Jar.Cookies(mustURL(h.ts.URL)) {
		req.AddCookie(c)
	}
	b.ResetTimer()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
