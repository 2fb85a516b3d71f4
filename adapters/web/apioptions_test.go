package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gasproject/gas/domain"
)

// TestAPIJobOptionsAndRerun (issue 13, items 6 and 7 and re-runs): the
// references a job may ask for; a submission with a reference and "skip
// malformed lines"; a re-run against another reference; an unknown
// reference, and an input no longer stored, refused with their reasons.
func TestAPIJobOptionsAndRerun(t *testing.T) {
	h := newHarness(t, withReferences{"synthetic-test-ref", "other-ref"})
	h.extra = append(h.extra, namedTrivialEngine{name: "other-ref"})
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	call := (&apiCall{h, b.newToken("script")}).do
	if r := call("GET", "/api/v1/references", nil, ""); r.StatusCode != 200 ||
		r.body != `{"references":["synthetic-test-ref","other-ref"],"default":"synthetic-test-ref"}`+"\n" {
		t.Fatalf("references: %d %q", r.StatusCode, r.body)
	}
	type jobJSON struct {
		ID      string
		Options domain.JobOptions
		Counts  *struct {
			Records          int64
			SuspectReference bool `json:"suspect_reference"`
		}
	}
	var buf bytes.Buffer
	ct := multipartWriter(&buf, map[string]string{"reference": "other-ref", "skip_malformed": "true"}, "file", "api.vcf", []byte(sampleVCF))
	sub := call("POST", "/api/v1/jobs", &buf, ct)
	var job jobJSON
	must(t, json.Unmarshal([]byte(sub.body), &job))
	if sub.StatusCode != 201 || job.Options != (domain.JobOptions{Reference: "other-ref", SkipMalformed: true}) {
		t.Fatalf("submit with options: %d %s", sub.StatusCode, sub.body)
	}
	stored, err := h.store.Get(context.Background(), domain.JobID(job.ID))
	if err != nil || stored.Options() != job.Options {
		t.Fatalf("stored options %+v: %v", stored.Options(), err)
	}
	buf.Reset()
	ct = multipartWriter(&buf, map[string]string{"reference": "hg19"}, "file", "api.vcf", []byte(sampleVCF))
	if r := call("POST", "/api/v1/jobs", &buf, ct); r.StatusCode != 400 || !strings.Contains(r.body, "synthetic-test-ref, other-ref") {
		t.Fatalf("unknown reference: %d %s", r.StatusCode, r.body)
	}
	buf.Reset()
	ct = multipartWriter(&buf, map[string]string{"skip_malformed": "perhaps"}, "file", "api.vcf", []byte(sampleVCF))
	if r := call("POST", "/api/v1/jobs", &buf, ct); r.StatusCode != 400 || !strings.Contains(r.body, "skip_malformed") {
		t.Fatalf("bad skip_malformed: %d %s", r.StatusCode, r.body)
	}

	h.complete(domain.JobID(job.ID))
	if r := call("GET", "/api/v1/jobs/"+job.ID, nil, ""); !strings.Contains(r.body, `"suspect_reference":false`) {
		t.Fatalf("completed job's counts: %s", r.body)
	}
	re := call("POST", "/api/v1/jobs/"+job.ID+"/rerun", strings.NewReader(url.Values{"reference": {"synthetic-test-ref"}}.Encode()),
		"application/x-www-form-urlencoded")
	var again jobJSON
	must(t, json.Unmarshal([]byte(re.body), &again))
	if re.StatusCode != 201 || again.ID == job.ID || again.Options.Reference != "synthetic-test-ref" || re.Header.Get("Location") != "/api/v1/jobs/"+again.ID {
		t.Fatalf("rerun: %d %s", re.StatusCode, re.body)
	}
	if r := call("POST", "/api/v1/jobs/"+job.ID+"/rerun?reference=hg19", nil, ""); r.StatusCode != 400 {
		t.Fatalf("rerun against an unknown reference: %d %s", r.StatusCode, r.body)
	}
	must(t, h.objects.Delete(context.Background(), stored.InputKey()))
	if r := call("POST", "/api/v1/jobs/"+job.ID+"/rerun", nil, ""); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "upload it again") {
		t.Fatalf("rerun without the input: %d %s", r.StatusCode, r.body)
	}
	if r := call("POST", "/api/v1/jobs/nope/rerun", nil, ""); r.StatusCode != 404 {
		t.Fatalf("rerun of no job: %d", r.StatusCode)
	}
}
