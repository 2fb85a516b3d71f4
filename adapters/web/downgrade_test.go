package web_test

import (
	"strings"
	"testing"

	"github.com/gasproject/gas/domain"
)

// After a downgrade, the job page, the archive schedule and the plan page
// agree (issue 13 item 8): the plan page promises that results already had
// stay, and the page of a result completed under premium says it is kept —
// no "downloadable until" that then passes with nothing happening.
func TestDowngradedJobPageKeepsThePlanPagesPromise(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Pat", "pat@example.org", domain.TierPremium)
	kept := b.submit("kept.vcf", sampleVCF)
	h.complete(kept)
	plan := b.get("/subscribe").body
	if !strings.Contains(plan, "Results you already have stay where they are") {
		t.Fatalf("plan page promise: %s", between(plan, "<main", "</form>"))
	}
	if r := b.postCSRF("/subscribe/cancel", nil); r.StatusCode != 303 {
		t.Fatalf("cancel premium: %d", r.StatusCode)
	}
	page := b.get("/annotations/" + string(kept)).body
	if strings.Contains(page, "downloadable until") || !strings.Contains(page, "Kept: these results") {
		t.Fatalf("kept result after the downgrade: %s", between(page, `id="dl-h"`, "</section>"))
	}
	st := b.get("/annotations/" + string(kept) + "/status").body
	if strings.Contains(st, "archive_at") {
		t.Fatalf("status of a kept result names an archive time: %s", st)
	}
	// A job completed after the downgrade follows the free plan, and says when.
	later := b.submit("later.vcf", sampleVCF)
	j := h.complete(later)
	page = b.get("/annotations/" + string(later)).body
	if want := "downloadable until " + j.ArchiveDue().Format("2006-01-02 15:04:05 UTC"); !strings.Contains(page, want) {
		t.Fatalf("free result after the downgrade lacks %q: %s", want, between(page, `id="dl-h"`, "</section>"))
	}
}
