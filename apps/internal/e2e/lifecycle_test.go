package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
)

// The steps TestRolesEndToEnd takes a user through, and its API helpers.

// apiSubmit posts a VCF to the JSON API with token and wants status; it
// returns the new job's id (on 201).
func apiSubmit(t *testing.T, c *cluster, token, name string, data []byte, status int) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.webURL+"/api/v1/jobs", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var job struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != status || status == http.StatusCreated && (json.Unmarshal(out, &job) != nil || job.ID == "") {
		t.Fatalf("API upload of %s: %d %s, want %d", name, resp.StatusCode, out, status)
	}
	return job.ID
}

// waitTrue waits up to 15 s for ok.
func waitTrue(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 15s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lifecycle is the life of a free user's job on AWS: upload through the
// presigned POST, annotation, e-mail, download, archive after the window
// (hot copy gone, archive present), upgrade, restore with the expected
// tier, and a byte-identical download.
//
// s3Events says cold storage is the S3 Glacier storage class, whose
// archives are S3 objects and whose completion events moto emits.
func lifecycle(t *testing.T, c *cluster, b *browser, input []byte, tier domain.RetrievalTier, thawer *proc, s3Events bool,
	grant func(t *testing.T, subject string)) {
	id := b.upload("sample.vcf", input)
	j := c.waitJob(t, id, "completed", 60*time.Second, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
	if j.Reference() != c.refName || j.InputName() != "sample.vcf" || j.InputSize() != int64(len(input)) {
		t.Fatalf("job %s: reference %q, input %q (%d bytes)", id, j.Reference(), j.InputName(), j.InputSize())
	}
	// Downloaded at once: the free window (6 s) ends whether or not the
	// archiver has run, and the download decision follows the window.
	vcf, sum := b.download(id)
	if !bytes.Contains(vcf, []byte("ANN=")) || !bytes.Contains(vcf, []byte("##INFO=<ID=ANN")) {
		t.Fatalf("downloaded result is not annotated:\n%.400s", vcf)
	}
	e := c.waitEmail(t, b.email, id, 30*time.Second)
	if !strings.Contains(e.Text, c.webURL+"/") {
		t.Fatalf("e-mail has no link to the site:\n%s", e.Text)
	}
	hot := j.Results()

	// The free window passes: archived, hot copy gone, archive present.
	// The archiver records ARCHIVED first and deletes the hot copy after
	// (the archive protocol), so the copy may outlive the record briefly.
	j = c.waitJob(t, id, "archived", 60*time.Second, func(j *domain.Job) bool { return j.Storage() == domain.StorageArchived })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ok, _ := c.headObject(t, c.cfg.Names.ResultsBucket, hot.VCF); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hot copy %s still there 30 s after archiving", hot.VCF)
		}
	}
	archiveID := j.ArchiveID()
	if s3Events {
		ok, class := c.headObject(t, c.cfg.Names.ArchiveBucket, archiveID)
		if !ok || class != "GLACIER" {
			t.Fatalf("archive %s: present %v, storage class %q", j.ArchiveID(), ok, class)
		}
	} else if n := strings.Count(archiveID, "#"); n != 2 {
		t.Fatalf("archive id %q is not a vault archive id", archiveID)
	}
	if st := b.status(id); st.Storage != string(domain.StorageArchived) {
		t.Fatalf("status page says storage %q", st.Storage)
	}
	if resp, _ := b.get("/annotations/" + string(id) + "/download/vcf"); resp.StatusCode == http.StatusOK &&
		strings.HasPrefix(resp.Request.URL.String(), c.cfg.Endpoint) {
		t.Fatal("an archived result was downloadable by a free user")
	}

	// The web role leaves plans to the operators (GAS_UPGRADE_POLICY=admin
	// by default): the user cannot upgrade; an operator grants premium (with
	// gas users, or on the admin page); the thawer starts the retrieval, the
	// restorer brings it back.
	if resp, page := b.postForm("/subscribe", "/subscribe", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "changed by the operators") {
		t.Fatalf("self upgrade under the admin policy: %d\n%s", resp.StatusCode, page)
	}
	grant(t, b.subject)
	started := thawer.waitFor(t, "the restore", 30*time.Second, msgJob("restore started", id))
	if got := started.str("tier"); got != string(tier) {
		t.Fatalf("restore of %s started with %q, want %s", id, got, tier)
	}
	if tier == domain.RetrievalStandard {
		standardRestoring(t, c, b, id, archiveID, s3Events)
	}
	j = c.waitJob(t, id, "restored", 60*time.Second, func(j *domain.Job) bool {
		return j.Storage() == domain.StorageAvailable && j.ArchiveID() == ""
	})
	if s3Events {
		if ok, _ := c.headObject(t, c.cfg.Names.ArchiveBucket, archiveID); ok {
			t.Fatalf("archive copy %s kept after the restore", archiveID)
		}
	}
	again, sum2 := b.download(id)
	if sum2 != sum {
		t.Fatalf("restored result differs: %d bytes %s, was %d bytes %s", len(again), sum2, len(vcf), sum)
	}
	t.Logf("job %s: annotated, e-mailed, archived, restored (%s) and byte-identical (sha256 %s)", id, tier, sum[:16])
}

// grantWithCommand makes subject premium with gas users grant.
func (c *cluster) grantWithCommand(t *testing.T, subject string) {
	if out, err := c.command("gas", "users", "grant", subject); err != nil || !strings.Contains(out, subject+" is PREMIUM") {
		t.Fatalf("gas users grant %s: %v\n%s", subject, err, out)
	}
}

// grantOnAdminPage makes subject premium on the web role's admin page,
// b being an operator (GAS_ADMINS): the page lists every user.
func (b *browser) grantOnAdminPage(t *testing.T, subject string) {
	action := "/admin/users/" + url.PathEscape(subject) + "/grant"
	if _, page := b.get("/admin/users"); !strings.Contains(page, `action="`+action+`"`) {
		t.Fatalf("the admin page offers no grant to %s:\n%s", subject, page)
	}
	resp, page := b.postForm("/admin/users", action, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Premium granted to "+subject) {
		t.Fatalf("grant of %s on the admin page: %d\n%s", subject, resp.StatusCode, page)
	}
}

// standardRestoring checks the page of a job restoring with Standard and,
// on S3, that the completion event finishes it before the poll would.
func standardRestoring(t *testing.T, c *cluster, b *browser, id domain.JobID, archiveID string, s3Events bool) {
	// While it runs, the page says which tier is used.
	j := c.waitJob(t, id, "restoring", 10*time.Second, func(j *domain.Job) bool { return j.Storage() != domain.StorageArchived })
	if j.Storage() != domain.StorageRestoring {
		t.Fatalf("job %s left ARCHIVED as %s before the page could show the tier", id, j.Storage())
	}
	if _, page := b.get("/annotations/" + string(id)); !strings.Contains(page, "Standard retrieval") {
		t.Fatalf("restoring page does not say Standard:\n%s", page)
	}
	if !s3Events {
		return // vaults send no event on moto: polling finishes the restore
	}
	// The restorer's polling check is due when Standard is expected (6 s).
	// moto completes S3 restores at once but emits ObjectRestore:Completed
	// only when the object is next read: read it, and the event (S3 -> SNS
	// -> SQS -> restorer) must finish the restore well before the poll.
	polledBy := time.Now().Add(5 * time.Second)
	if ok, _ := c.headObject(t, c.cfg.Names.ArchiveBucket, archiveID); !ok {
		t.Fatalf("archive %s gone before the restore", archiveID)
	}
	c.waitJob(t, id, "restored by the completion event", 30*time.Second, func(j *domain.Job) bool {
		return j.Storage() == domain.StorageAvailable
	})
	if time.Now().After(polledBy) {
		t.Fatalf("restore of %s finished only when the poll was due: the completion event was not used", id)
	}
}
