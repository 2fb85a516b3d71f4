package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/oidc/oidctest"
	"github.com/gasproject/gas/domain"
)

// browser is one signed-in user of the web role.
type browser struct {
	t       *testing.T
	c       *cluster
	client  *http.Client
	email   string
	subject string
}

// signIn signs a user in through the OIDC provider, as a browser would.
func (c *cluster) signIn(subject, name, email string) *browser {
	t := c.t
	t.Helper()
	c.signInMu.Lock()
	defer c.signInMu.Unlock()
	c.oidc.SetUser(oidctest.User{Subject: subject, Name: name, Email: email, Organization: "E2E University"})
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, c: c, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}, email: email, subject: subject}
	resp, body := b.get("/auth/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in of %s ended with %d at %s:\n%s", subject, resp.StatusCode, resp.Request.URL, body)
	}
	if _, page := b.get("/profile"); !strings.Contains(page, email) {
		t.Fatalf("profile after sign-in does not show %s:\n%s", email, page)
	}
	return b
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.c.webURL + path
	}
	resp, err := b.client.Get(target)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var (
	csrfRe   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRe = regexp.MustCompile(`<form class="upload[^"]*" method="post" action="([^"]+)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// postForm submits a CSRF-protected form found on page.
func (b *browser) postForm(page, action string, values url.Values) (*http.Response, string) {
	b.t.Helper()
	_, body := b.get(page)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	if values == nil {
		values = url.Values{}
	}
	values.Set("csrf_token", html.UnescapeString(m[1]))
	req, _ := http.NewRequest(http.MethodPost, b.c.webURL+action, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.c.webURL)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", action, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// upload submits a VCF the way the annotate page does on AWS: the browser
// posts the file straight to S3 with the presigned form, S3 redirects back
// to the app, which creates the job. It returns the new job's id.
// submitted, if given, is called as soon as the app has created the job,
// before the browser follows the redirect to the job's page.
func (b *browser) upload(name string, data []byte, submitted ...func(domain.JobID)) domain.JobID {
	t := b.t
	t.Helper()
	_, page := b.get("/annotate")
	am := actionRe.FindStringSubmatch(page)
	if am == nil {
		t.Fatalf("no upload form on /annotate:\n%s", page)
	}
	action := html.UnescapeString(am[1])
	if !strings.HasPrefix(action, b.c.cfg.Endpoint) {
		t.Fatalf("upload form posts to %s, not to S3 at %s", action, b.c.cfg.Endpoint)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := map[string]string{}
	for _, m := range hiddenRe.FindAllStringSubmatch(page[strings.Index(page, am[0]):], -1) {
		fields[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	for _, k := range []string{"key", "policy", "x-amz-signature", "success_action_redirect"} {
		if fields[k] == "" {
			t.Fatalf("presigned form lacks %s: %v", k, fields)
		}
	}
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", name) // S3 wants the file last
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	// gas.js remembers the chosen file's name in a cookie for the redirect.
	u, _ := url.Parse(b.c.webURL + "/annotate")
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "gas_upload_name", Value: url.QueryEscape(name), Path: "/annotate"}})
	req, _ := http.NewRequest(http.MethodPost, action, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := *b.client
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if id, ok := strings.CutPrefix(next.URL.Path, "/annotations/"); ok && next.URL.Host == u.Host {
			for _, f := range submitted {
				f(domain.JobID(id))
			}
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("presigned POST: %v", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	final := resp.Request.URL
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(final.Path, "/annotations/") {
		t.Fatalf("upload ended with %d at %s:\n%s", resp.StatusCode, final, rb)
	}
	return domain.JobID(strings.TrimPrefix(final.Path, "/annotations/"))
}

// status is the job's status JSON from the web role.
func (b *browser) status(id domain.JobID) (st struct {
	Status  string `json:"status"`
	Storage string `json:"storage"`
}) {
	b.t.Helper()
	resp, body := b.get("/annotations/" + string(id) + "/status")
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		b.t.Fatalf("status of %s: %d %s", id, resp.StatusCode, body)
	}
	return st
}

// download fetches the annotated VCF through the web role, which
// redirects to a presigned S3 URL; it returns the bytes and their SHA-256.
func (b *browser) download(id domain.JobID) ([]byte, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.c.webURL + "/annotations/" + string(id) + "/download/vcf")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), b.c.cfg.Endpoint) {
		b.t.Fatalf("download of %s: %d from %s\n%.500s", id, resp.StatusCode, resp.Request.URL, body)
	}
	sum := sha256.Sum256(body)
	return body, hex.EncodeToString(sum[:])
}
