package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func init() {
	commands["load"] = command{summary: "drive a running GAS with simulated researchers (web) or job submissions (jobs)", subs: map[string]command{
		"web": {summary: "simulated signed-in researchers browse the site (job list, job pages, plan page, home)",
			usage: "load web --url URL [--users N] [--rate R] [--duration D] [--cookies FILE] [--json] [--plot FILE.svg] [--allow-remote]",
			about: "N researchers send R requests per second in total. " + loadAbout,
			run:   func(ctx context.Context, args []string) error { return runLoadWeb(ctx, args, os.Stdout) }},
		"jobs": {summary: "submit a VCF through the JSON API at a rate and follow every job to completion",
			usage: "load jobs --url URL --token T --file F [--rate R] [--duration D] [--arrivals poisson|constant]\n" +
				"          [--seed N] [--max-wait D] [--trace FILE] [--json] [--plot FILE.svg] [--allow-remote]",
			about: loadAbout,
			run:   func(ctx context.Context, args []string) error { return runLoadJobs(ctx, args, os.Stdout) }},
	}}
}

const loadAbout = `Built on vegeta, bounded in count and time; URLs that are not loopback
are refused unless --allow-remote is given. See docs/scaling.md.`

// Bounds of a load run, so a typo cannot become a denial of service.
const (
	maxLoadUsers    = 10_000
	maxLoadRate     = 5_000
	maxLoadDuration = time.Hour
)

// loadTarget checks the URL and the bounds shared by both loads.
func loadTarget(raw string, allowRemote bool, rate float64, d time.Duration) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --url %q is not an http(s) URL", errUsage, raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: --url %s is not a loopback address; pass --allow-remote to load a remote deployment", errUsage, u.Host)
	}
	if !(rate > 0) || rate > maxLoadRate || d <= 0 || d > maxLoadDuration {
		return nil, fmt.Errorf("%w: --rate must be in (0, %d] and --duration in (0, %v]", errUsage, maxLoadRate, maxLoadDuration)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setupClient is a plain HTTP client for setup requests (sign-in,
// following jobs); the measured requests go through vegeta.
func setupClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// devSignIn signs a researcher in through the development sign-in (local
// mode) and returns the session cookie's value.
func devSignIn(ctx context.Context, base *url.URL, email string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := setupClient()
	c.Jar = jar
	csrf, err := pageCSRF(ctx, c, base.String()+"/signin")
	if err != nil {
		return "", err
	}
	form := url.Values{"csrf_token": {csrf}, "name": {"Load " + email}, "email": {email}, "tier": {"PREMIUM"}}
	if _, err := postForm(ctx, c, base, "/auth/dev", form); err != nil {
		return "", fmt.Errorf("dev sign-in (is this local mode? use --cookies otherwise): %w", err)
	}
	for _, ck := range jar.Cookies(base) {
		if ck.Name == "gas_session" {
			return ck.Value, nil
		}
	}
	return "", fmt.Errorf("dev sign-in of %s set no session cookie", email)
}

func pageCSRF(ctx context.Context, c *http.Client, page string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	m := csrfField.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no CSRF token on %s (%s)", page, resp.Status)
	}
	return string(m[1]), nil
}

// postForm posts a same-origin form and returns the redirect target.
func postForm(ctx context.Context, c *http.Client, base *url.URL, path string, form url.Values) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base.Scheme+"://"+base.Host)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return resp.Header.Get("Location"), nil
}

// latencySummary is what both loads report about their requests.
type latencySummary struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Rate     float64 `json:"rate"`       // requests sent per second
	Through  float64 `json:"throughput"` // successful responses per second
	P50ms    float64 `json:"p50_ms"`
	P95ms    float64 `json:"p95_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

func summarise(m *vegeta.Metrics, errors int) latencySummary {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return latencySummary{Requests: int(m.Requests), Errors: errors, Rate: m.Rate, Through: m.Throughput,
		P50ms: ms(m.Latencies.P50), P95ms: ms(m.Latencies.P95), P99ms: ms(m.Latencies.P99), MaxMs: ms(m.Latencies.Max)}
}

// failed reports whether a response counts as an error: a transport
// error or anything but 2xx (a redirect to sign-in is a failure here).
func failed(r *vegeta.Result) bool { return r.Error != "" || r.Code < 200 || r.Code > 299 }

// progress prints a live line to stderr at most once a second.
type progress struct {
	start, last time.Time
	quiet       bool
}

func (p *progress) update(m *vegeta.Metrics, errors int, extra string) {
	now := time.Now()
	if p.quiet || now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	fmt.Fprintf(os.Stderr, "\r%5.0fs  %7d requests  %7.1f/s  %5d errors  p99 %7.1f ms%s   ",
		now.Sub(p.start).Seconds(), m.Requests, float64(m.Requests)/now.Sub(p.start).Seconds(), errors,
		float64(m.Latencies.Quantile(0.99).Microseconds())/1000, extra)
}

func (p *progress) done() {
	if !p.quiet {
		fmt.Fprintln(os.Stderr)
	}
}

// secondBins groups per-request figures by the second they were sent in.
type secondBins struct {
	start time.Time
	lat   [][]time.Duration
	errs  []int
}

func (b *secondBins) add(r *vegeta.Result) {
	i := max(0, int(r.Timestamp.Sub(b.start)/time.Second))
	for len(b.lat) <= i {
		b.lat, b.errs = append(b.lat, nil), append(b.errs, 0)
	}
	b.lat[i] = append(b.lat[i], r.Latency)
	if failed(r) {
		b.errs[i]++
	}
}

// quantile is the q-th latency quantile of second i in milliseconds.
func (b *secondBins) quantile(i int, q float64) float64 {
	ls := slices.Clone(b.lat[i])
	if len(ls) == 0 {
		return 0
	}
	slices.Sort(ls)
	return float64(ls[min(len(ls)-1, int(q*float64(len(ls))))].Microseconds()) / 1000
}
