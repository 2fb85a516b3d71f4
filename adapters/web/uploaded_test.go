package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

// TestUploadedNamesAJobOnlyByItsOwnInputKey: the page a presigned upload
// returns to reads the job from the key with jobs.ParseInputKey, so only
// the signed-in user's input key of an uploaded job submits it; keys of
// another prefix, layout or owner naming the same job are not found
// (TestPresignedUploadPath covers the browser's upload itself).
func TestUploadedNamesAJobOnlyByItsOwnInputKey(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.StreamUploads = false })
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	own := jobs.InputKey("inputs/", b.userID(), "job-1")
	if _, err := h.objects.Put(context.Background(), own, strings.NewReader(sampleVCF)); err != nil {
		t.Fatal(err)
	}
	rest := strings.TrimPrefix(own, "inputs/")
	for _, key := range []string{
		"", "input", "inputs/job-1/input", "results/" + rest, "archive/inputs/" + rest, own + "/x",
		jobs.InputKey("inputs/", "someone-else", "job-1"),
	} {
		if r := b.get("/annotate/uploaded?key=" + url.QueryEscape(key)); r.StatusCode != 404 {
			t.Errorf("uploaded callback for key %q: %d, want 404", key, r.StatusCode)
		}
	}
	r := b.get("/annotate/uploaded?key=" + url.QueryEscape(own))
	if r.StatusCode != 303 || r.Header.Get("Location") != "/annotations/job-1" {
		t.Fatalf("uploaded callback for the owner's key: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}
