package main

import (
	"bytes"
	"context"
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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/domain"
)

// The load benchmarks measure the figures against a real
// `gas serve`, durable and in memory in the same run:
//
//	go test -run '^$' -bench 'ConcurrentSubmissions|JobList' -benchtime 1x ./apps/gas
//
// They take minutes of CPU; the job list needs wrk (Debian package wrk).
// The memory test (minutes, gigabytes of disk) is opt-in:
//
//	GAS_LOAD=1 go test -run TestLoadMemory -v ./apps/gas

const tinyVCF = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
	"chr1\t1000\t.\tA\tG\t50\tPASS\t.\nchr1\t25000\t.\tC\tT\t50\tPASS\t.\nchr2\t40000\t.\tG\tA\t50\tPASS\t.\n"

func requireLoad(t *testing.T) {
	if os.Getenv("GAS_LOAD") == "" {
		t.Skip("load test skipped: set GAS_LOAD=1 to run it (takes minutes)")
	}
}

// loadClient is a signed-in user of a running server with an API token.
type loadClient struct {
	t       testing.TB
	base    string
	http    *http.Client
	token   string
	session string
}

var csrfInPage = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func signInForLoad(t testing.TB, base, email string, premium bool) *loadClient {
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
func submitAll(t testing.TB, srv *gasServer, c *loadClient, n, conc int) ([]string, time.Duration, float64) {
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

// loadModes are the storage backends the load benchmarks compare in one
// run: the durable default (SQLite and files) and --ephemeral (memory).
var loadModes = []struct {
	name string
	args []string
}{{"sqlite", nil}, {"memory", []string{"--ephemeral"}}}

// BenchmarkConcurrentSubmissions: 1,000 small jobs submitted at once
// through the API of a real `gas serve`, durable and in memory in the same
// run, all complete; none is lost or failed. It reports jobs per second
// and the server's CPU cores in use:
//
//	go test -run '^$' -bench ConcurrentSubmissions -benchtime 1x ./apps/gas
func BenchmarkConcurrentSubmissions(b *testing.B) {
	bin := buildGas(b)
	for _, m := range loadModes {
		b.Run(m.name, func(b *testing.B) {
			srv := startGas(b, bin, append([]string{"--quiet"}, m.args...)...)
			c := signInForLoad(b, srv.URL, "burst@example.org", true)
			for i := range b.N {
				ids, took, cores := submitAll(b, srv, c, 1000, 1000)
				st := c.allJobs()
				seen := map[string]bool{}
				for _, id := range ids {
					if id == "" || seen[id] {
						b.Fatalf("missing or duplicate job id %q", id)
					}
					seen[id] = true
					if st[id] != "COMPLETED" {
						b.Fatalf("job %s is %s", id, st[id])
					}
				}
				if len(st) != 1000*(i+1) {
					b.Fatalf("the user has %d jobs, want %d", len(st), 1000*(i+1))
				}
				b.ReportMetric(1000/took.Seconds(), "jobs/s")
				b.ReportMetric(cores, "server-cores")
				b.Logf("%s: 1000 concurrent API submissions all COMPLETED, none lost, in %v (%.0f jobs/s); server used %.2f CPU cores",
					m.name, took.Round(time.Millisecond), 1000/took.Seconds(), cores)
			}
		})
	}
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99  = regexp.MustCompile(`\n\s+99%\s+([0-9.]+)(us|ms|s)`)
)

// BenchmarkJobList: with 10,000 jobs for one user, the first page of the
// job list under wrk (one thread, 8, 16 and 32 connections, 10 s each),
// durable and in memory in the same run. The target is at least
// 5,000 requests/s with p99 under 20 ms at 16 connections; it reports
// requests/s and p99 per connection count. The durable server's jobs are
// written straight into its database between two starts (10,000 API
// submissions with an fsync per commit take minutes); the memory server's
// come through the API.
//
//	go test -run '^$' -bench JobList -benchtime 1x ./apps/gas
func BenchmarkJobList(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk not installed (apt-get install wrk)")
	}
	bin := buildGas(b)
	for _, m := range loadModes {
		b.Run(m.name, func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data")
			args := append([]string{"--quiet", "--data", data}, m.args...)
			srv := startGas(b, bin, args...)
			c := signInForLoad(b, srv.URL, "many@example.org", true)
			if m.name == "memory" {
				submitAll(b, srv, c, 10000, 64)
			} else {
				user := userOf(b, c)
				srv.stop(b)
				seedJobs(b, data, user, 10000)
				srv = startGas(b, bin, args...)
			}
			srv.quietLogs()
			for range b.N {
				for _, conns := range []int{8, 16, 32} {
					out, err := exec.Command(wrk, "-t1", fmt.Sprintf("-c%d", conns), "-d10s", "--latency",
						"-H", "Cookie: gas_session="+c.session, srv.URL+"/annotations").CombinedOutput()
					if err != nil {
						b.Fatalf("wrk: %v\n%s", err, out)
					}
					rate, p99 := parseWrk(b, string(out))
					b.ReportMetric(rate, fmt.Sprintf("req/s@%d", conns))
					b.ReportMetric(p99, fmt.Sprintf("p99-ms@%d", conns))
					b.Logf("%s: GET /annotations, first page of 10,000 jobs, %d connections: %.0f requests/s, p99 %.2f ms",
						m.name, conns, rate, p99)
				}
			}
		})
	}
}

// userOf is the id of the token's user.
func userOf(b testing.TB, c *loadClient) domain.UserID {
	req, _ := http.NewRequest(http.MethodGet, c.base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ ID domain.UserID }
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		b.Fatal(err)
	}
	return me.ID
}

// seedJobs writes n completed jobs of user into the data directory's
// database while no server runs.
func seedJobs(b testing.TB, data string, user domain.UserID, n int) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(data, providers.DatabaseFile))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store := sqlite.NewJobStore(db)
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		id := domain.JobID(fmt.Sprintf("seed%06d", i))
		at := t0.Add(time.Duration(i) * time.Second)
		j, err := domain.NewJob(id, user, fmt.Sprintf("job-%05d.vcf", i), "inputs/"+string(user)+"/"+string(id)+"/input", 140, at)
		if err != nil {
			b.Fatal(err)
		}
		if err := j.Claim(at, time.Minute, 3); err != nil {
			b.Fatal(err)
		}
		keys := domain.ResultKeys{VCF: "results/" + string(id) + ".vcf", Index: "i", Summary: "s", Log: "l"}
		if err := j.Complete(at.Add(time.Second), keys, "seed", domain.Counts{Records: 3, Variants: 3}); err != nil {
			b.Fatal(err)
		}
		if err := store.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
}

func parseWrk(t testing.TB, out string) (rate, p99ms float64) {
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
