package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoadAgainstTheDeployment runs the built `gas load web` and `gas load
// jobs` against the multi-process deployment (the CloudFormation stack on
// the test server, every role its own process): researchers signed in
// through the OIDC provider browse the site, and a VCF is submitted
// through the JSON API and followed to completion by the annotators. No
// request may fail and every job must complete (issue 12: docs/scaling.md
// reports these figures).
//
// The defaults are small for CI; GAS_E2E_LOAD_USERS, GAS_E2E_LOAD_WEB_RATE,
// GAS_E2E_LOAD_JOB_RATE and GAS_E2E_LOAD_DURATION make a longer run, and
// GAS_SCALING_PLOTS=DIR keeps the two SVGs there (load-web-moto.svg,
// load-jobs-moto.svg).
func TestLoadAgainstTheDeployment(t *testing.T) {
	users := loadKnob(t, "GAS_E2E_LOAD_USERS", 4)
	webRate := loadKnob(t, "GAS_E2E_LOAD_WEB_RATE", 10.0)
	jobRate := loadKnob(t, "GAS_E2E_LOAD_JOB_RATE", 1.0)
	duration := loadKnob(t, "GAS_E2E_LOAD_DURATION", 5*time.Second)
	plots, err := filepath.Abs(cmp.Or(os.Getenv("GAS_SCALING_PLOTS"), t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := newStackCluster(t)
	c.startRoles(t, nil, 2)
	t.Logf("stack deployed and roles ready in %s", time.Since(start).Round(time.Millisecond))

	dir := t.TempDir()
	cookies, token := c.loadUsers(t, users)
	cookieFile, vcf := filepath.Join(dir, "cookies.txt"), "load.vcf" // the jobs plot's title names the file
	if err := os.WriteFile(cookieFile, []byte(strings.Join(cookies, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, vcf), c.sampleVCF(4<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	d := duration.String()

	var web struct {
		Requests int            `json:"requests"`
		Errors   int            `json:"errors"`
		Codes    map[string]int `json:"status_codes"`
	}
	raw := c.load(t, dir, &web, "web", "--url", c.webURL, "--cookies", cookieFile, "--users", strconv.Itoa(users),
		"--rate", fmt.Sprint(webRate), "--duration", d, "--json", "--plot", filepath.Join(plots, "load-web-moto.svg"))
	t.Logf("gas load web, %d users at %g/s for %s: %s", users, webRate, d, raw)
	if web.Errors != 0 || web.Requests < int(webRate*duration.Seconds())/2 {
		t.Errorf("gas load web: %d requests, %d errors (codes %v); want about %g and none", web.Requests, web.Errors, web.Codes,
			webRate*duration.Seconds())
	}

	var jobs struct {
		Submitted    int `json:"submitted"`
		SubmitErrors int `json:"submit_errors"`
		Completed    int `json:"completed"`
		Failed       int `json:"failed"`
		Unfinished   int `json:"unfinished"`
	}
	raw = c.load(t, dir, &jobs, "jobs", "--url", c.webURL, "--token", token, "--file", vcf, "--rate", fmt.Sprint(jobRate),
		"--duration", d, "--max-wait", "90s", "--json", "--plot", filepath.Join(plots, "load-jobs-moto.svg"))
	t.Logf("gas load jobs at %g/s for %s: %s", jobRate, d, raw)
	if jobs.Submitted == 0 || jobs.SubmitErrors != 0 || jobs.Completed != jobs.Submitted || jobs.Failed+jobs.Unfinished != 0 {
		t.Errorf("gas load jobs: %d submitted (%d errors), %d completed, %d failed, %d unfinished; want every one completed",
			jobs.Submitted, jobs.SubmitErrors, jobs.Completed, jobs.Failed, jobs.Unfinished)
	}
}

// loadUsers signs n researchers in through the OIDC provider and returns
// their session cookies, and an API token the first one created on the
// Profile page.
func (c *cluster) loadUsers(t *testing.T, n int) (cookies []string, token string) {
	t.Helper()
	site, _ := url.Parse(c.webURL)
	var first *browser
	for i := range n {
		b := c.signIn(fmt.Sprintf("sub-load-%d", i+1), fmt.Sprintf("Load Researcher %d", i+1), fmt.Sprintf("load-%d@example.org", i+1))
		for _, ck := range b.client.Jar.Cookies(site) {
			if ck.Name == "gas_session" {
				cookies = append(cookies, ck.Value)
			}
		}
		if first == nil {
			first = b
		}
	}
	if len(cookies) != n {
		t.Fatalf("%d session cookies for %d signed-in researchers", len(cookies), n)
	}
	_, page := first.postForm("/profile", "/profile/tokens", url.Values{"name": {"gas load"}})
	m := regexp.MustCompile(`id="new-token">(gas_[^<]+)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no new token on the profile page:\n%s", page)
	}
	return cookies, html.UnescapeString(m[1])
}

// load runs `gas load KIND args...` in dir and decodes its --json into report,
// returning the JSON as printed.
func (c *cluster) load(t *testing.T, dir string, report any, kind string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "gas"), append([]string{"load", kind}, args...)...)
	cmd.Env, cmd.Dir = c.env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gas load %s: %v\n%s%s", kind, err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), report); err != nil {
		t.Fatalf("gas load %s --json: %v\n%s", kind, err, stdout.String())
	}
	return strings.TrimSpace(stdout.String())
}

// loadKnob is the environment's value of name, or def.
func loadKnob[T int | float64 | time.Duration](t *testing.T, name string, def T) T {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var v any
	var err error
	switch any(def).(type) {
	case int:
		v, err = strconv.Atoi(s)
	case float64:
		v, err = strconv.ParseFloat(s, 64)
	case time.Duration:
		v, err = time.ParseDuration(s)
	}
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v.(T)
}
