package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The load tests measure the figures against a real `gas serve`:
//
//	GAS_LOAD=1 go test -run 'TestLoad' -v ./apps/gas
//
// They are opt-in (minutes of CPU on a shared machine) and need wrk
// (Debian package wrk) for the request-rate figure.

const tinyVCF = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t1000\t.\tA\tG\t50\tPASS\t.\nchr1\t25000\t.\tC\tT\t50\tPASS\t.\nchr2\t40000\t.\tG\tA\t50\tPASS\t.\n"

func requireLoad(t *testing.T) {
	if os.Getenv("GAS_LOAD") == "" {
		t.Skip("load test skipped: set GAS_LOAD=1 to run it (takes minutes)")
	}
}

// loadClient is a signed-in user of a running server with an API token.
type loadClient struct {
	t       *testing.T
	base    string
	http    *http.Client
	token   string
	session string
}

var csrfInPage = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func signInForLoad(t *testing.T, base, email string, premium bool) *loadClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &loadClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	csrf := func(path string) string {
		resp, err := c.http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfInPage.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no CSRF token on %s", path)
		}
		return string(m[1])
	}
	tier := "FREE"
	if premium {
		tier = "PREMIUM"
	}
	post := func(path string, form url.Values) []byte {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	post("/auth/dev", url.Values{"csrf_token": {csrf("/signin")}, "name": {"Load"}, "email": {email}, "tier": {tier}})
	page := post("/profile/tokens", url.Values{"csrf_token": {csrf("/profile")}, "name": {"load"}})
	m := regexp.MustCompile(`id="new-token">(gas_[A-Za-z0-9_-]+)<`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no token created: %s", page)
	}
	c.token = string(m[1])
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "gas_session" {
			c.session = ck.Value
		}
	}
	return c
}

func (c *loadClient) submit(name string) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = io.WriteString(fw, tinyVCF)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/api/v1/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var j struct{ ID string }
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("submit: %s %s", resp.Status, b)
	}
	return j.ID, json.NewDecoder(resp.Body).Decode(&j)
}

// allJobs pages through the API's job list and returns status by id.
func (c *loadClient) allJobs() map[string]string {
	out := map[string]string{}
	cursor := ""
	for {
		req, _ := http.NewRequest(http.MethodGet, c.base+"/api/v1/jobs?limit=100&cursor="+url.QueryEscape(cursor), nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		var page struct {
			Jobs []struct{ ID, Status string }
			Next string
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			c.t.Fatal(err)
		}
		for _, j := range page.Jobs {
			out[j.ID] = j.Status
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cpuSeconds is the user+system CPU time a process has used.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// submitAll submits n jobs with the given concurrency and waits until the
// server reports them all finished; it returns the ids, the time taken and
// the CPU cores the server used meanwhile.
func submitAll(t *testing.T, srv *gasServer, c *loadClient, n, conc int) ([]string, time.Duration, float64) {
	pid := srv.cmd.Process.Pid
	cpu0, start := cpuSeconds(pid), time.Now()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	next := make(chan int)
	for w := 0; w < conc; w++ {
		wg.Go(func() {
			for i := range next {
				id, err := c.submit(fmt.Sprintf("job-%05d.vcf", i))
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				ids[i] = id
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d submissions failed; first: %v", len(errs), n, errs[0])
	}
	t.Logf("%d submissions accepted in %v", n, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(10 * time.Minute)
	for {
		done := 0
		st := c.allJobs()
		for _, id := range ids {
			if s := st[id]; s == "COMPLETED" || s == "FAILED" {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d jobs finished in time", done, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	d := time.Since(start)
	return ids, d, (cpuSeconds(pid) - cpu0) / d.Seconds()
}

// TestLoadConcurrentSubmissions: 1,000 small jobs submitted at once through
// the API all complete; none is lost or failed.
func TestLoadConcurrentSubmissions(t *testing.T) {
	requireLoad(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"--quiet", "--metrics-addr", metrics}
	if w := os.Getenv("GAS_LOAD_WORKERS"); w != "" {
		args = append(args, "--workers", w)
	}
	srv := startGas(t, buildGas(t), args...)
	c := signInForLoad(t, srv.URL, "burst@example.org", true)
	ids, took, cores := submitAll(t, srv, c, 1000, 1000)
	st := c.allJobs()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("missing or duplicate job id %q", id)
		}
		seen[id] = true
		if st[id] != "COMPLETED" {
			t.Fatalf("job %s is %s", id, st[id])
		}
	}
	if len(st) != 1000 {
		t.Fatalf("the user has %d jobs, want 1000", len(st))
	}
	if resp, err := http.Get("http://" + metrics + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "gas_annotation_duration_seconds_sum") || strings.HasPrefix(l, "gas_annotation_duration_seconds_count") ||
				strings.HasPrefix(l, "gas_annotations_total") || strings.HasPrefix(l, "gas_jobs{") {
				t.Log(l)
			}
		}
	}
	t.Logf("1000 concurrent API submissions: all COMPLETED, none lost, in %v (%.0f jobs/s); server used %.2f CPU cores on average",
		took.Round(time.Millisecond), 1000/took.Seconds(), cores)
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99  = regexp.MustCompile(`\n\s+99%\s+([0-9.]+)(us|ms|s)`)
)

// TestLoadJobListRate: with 10,000 jobs for one user, the first page of the
// job list serves at least 5,000 requests/s with p99 under 20 ms (wrk, one
// thread, 16 connections; 8 and 32 are reported too). The server runs with --quiet
// (request logs at warn level) unless GAS_LOAD_INFO=1.
func TestLoadJobListRate(t *testing.T) {
	requireLoad(t)
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not installed (apt-get install wrk)")
	}
	args := []string{"--quiet"}
	if os.Getenv("GAS_LOAD_INFO") != "" {
		args = nil
	}
	srv := startGas(t, buildGas(t), args...)
	srv.quietLogs()
	c := signInForLoad(t, srv.URL, "many@example.org", true)
	_, took, _ := submitAll(t, srv, c, 10000, 64)
	t.Logf("10,000 jobs submitted and completed in %v", took.Round(time.Millisecond))
	for _, conns := range []int{8, 16, 32} {
		// One wrk thread: on a 2-core machine the load tool shares the cores
		// with the server, and two wrk threads take a whole core and pre-empt
		// the server for scheduler time slices, which is what the p99 of a
		// two-thread run measures. One thread still drives the server to
		// ~15,000 requests/s, three times the target.
		out, err := exec.Command(wrk, "-t1", fmt.Sprintf("-c%d", conns), "-d10s", "--latency",
			"-H", "Cookie: gas_session="+c.session, srv.URL+"/annotations").CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		rate, p99 := parseWrk(t, string(out))
		t.Logf("GET /annotations, first page of 10,000 jobs, %d connections: %.0f requests/s, p99 %.2f ms", conns, rate, p99)
		if conns == 16 && (rate < 5000 || p99 >= 20) {
			t.Errorf("job list at 16 connections: %.0f req/s (want >= 5000), p99 %.2f ms (want < 20)\n%s", rate, p99, out)
		}
	}
}

func parseWrk(t *testing.T, out string) (rate, p99ms float64) {
	m := wrkRate.FindStringSubmatch(out)
	p := wrkP99.FindStringSubmatch(out)
	if m == nil || p == nil {
		t.Fatalf("cannot read wrk output:\n%s", out)
	}
	rate, _ = strconv.ParseFloat(m[1], 64)
	p99ms, _ = strconv.ParseFloat(p[1], 64)
	switch p[2] {
	case "us":
		p99ms /= 1000
	case "s":
		p99ms *= 1000
	}
	if strings.Contains(out, "Non-2xx or 3xx responses") {
		t.Fatalf("wrk saw error responses:\n%s", out)
	}
	return rate, p99ms
}
