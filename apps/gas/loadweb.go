package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gasproject/gas/apps/internal/svgplot"
)

// loadWebFlags is gas load web's command line.
type loadWebFlags struct {
	url, cookies, plot string
	users              int
	rate               float64
	duration           time.Duration
	json, allowRemote  bool
}

func parseLoadWeb(args []string) (loadWebFlags, error) {
	fs := flag.NewFlagSet("load web", flag.ContinueOnError)
	var f loadWebFlags
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "`URL` of the site to load")
	fs.IntVar(&f.users, "users", 200, "simulated signed-in researchers")
	fs.Float64Var(&f.rate, "rate", 25, "requests per second, all users together")
	fs.DurationVar(&f.duration, "duration", time.Minute, "how long to send requests")
	fs.StringVar(&f.cookies, "cookies", "", "`FILE` of gas_session cookie values, one per user (instead of the local-mode dev sign-in)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object at the end")
	fs.StringVar(&f.plot, "plot", "", "write an SVG of latency and throughput over time to `FILE`")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a URL that is not loopback")
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if f.users < 1 || f.users > maxLoadUsers {
		return f, fmt.Errorf("%w: --users must be 1..%d", errUsage, maxLoadUsers)
	}
	return f, nil
}

// webUser is one signed-in researcher and the pages they browse.
type webUser struct {
	cookie string
	pages  []string
	next   int
}

// webReport is gas load web's --json.
type webReport struct {
	latencySummary
	Users    int            `json:"users"`
	Duration float64        `json:"duration_s"`
	SignInMs float64        `json:"sign_in_ms"` // mean time to sign a user in (setup, not measured load)
	Codes    map[string]int `json:"status_codes"`
}

func runLoadWeb(ctx context.Context, args []string, out io.Writer) error {
	f, err := parseLoadWeb(args)
	if err != nil {
		return err
	}
	base, err := loadTarget(f.url, f.allowRemote, f.rate, f.duration)
	if err != nil {
		return err
	}
	start := time.Now()
	users, err := webUsers(ctx, base, f)
	if err != nil {
		return err
	}
	signIn := time.Since(start) / time.Duration(len(users))
	fmt.Fprintf(os.Stderr, "gas load web: %d users ready in %v; %g requests/s for %v against %s\n",
		len(users), time.Since(start).Round(time.Millisecond), f.rate, f.duration, base)
	rep, bins := attackWeb(ctx, base, users, f)
	rep.SignInMs = float64(signIn.Microseconds()) / 1000
	if f.plot != "" {
		if err := writePlot(f.plot, loadWebFigure(base, f, bins)); err != nil {
			return err
		}
	}
	return printWebReport(out, rep, f.json)
}

// webUsers signs the users in (or reads their cookies) and finds a job
// page for each by submitting the small sample once.
func webUsers(ctx context.Context, base *url.URL, f loadWebFlags) ([]*webUser, error) {
	cookies, err := userCookies(ctx, base, f)
	if err != nil {
		return nil, err
	}
	users := make([]*webUser, len(cookies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, ck := range cookies {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u := &webUser{cookie: ck, pages: []string{"/annotations", "/subscribe", "/"}}
			if job := sampleJob(ctx, base, ck); job != "" {
				u.pages = append(u.pages, job)
			}
			users[i] = u
		})
	}
	wg.Wait()
	return users, ctx.Err()
}

func userCookies(ctx context.Context, base *url.URL, f loadWebFlags) ([]string, error) {
	if f.cookies != "" {
		return readCookies(f.cookies, f.users)
	}
	out := make([]string, f.users)
	errs := make(chan error, f.users)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range out {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ck, err := devSignIn(ctx, base, fmt.Sprintf("load-%05d@example.org", i+1))
			out[i] = ck
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readCookies(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--cookies: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < n {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, strings.TrimPrefix(l, "gas_session="))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --cookies %s holds no session cookie", errUsage, path)
	}
	return out, sc.Err()
}

// sampleJob submits the upload page's first sample for the user and
// returns the job page it leads to ("" if the site offers none).
func sampleJob(ctx context.Context, base *url.URL, cookie string) string {
	c := setupClient()
	jarless := func(req *http.Request) { req.Header.Set("Cookie", "gas_session="+cookie) }
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/annotate", nil)
	jarless(req)
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	m, name := csrfField.FindSubmatch(b), sampleName(string(b))
	if m == nil || name == "" {
		return ""
	}
	form := url.Values{"csrf_token": {string(m[1])}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/samples/"+url.PathEscape(name)+"/submit", strings.NewReader(form.Encode()))
	if err != nil {
		return ""
	}
	jarless(req)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base.Scheme+"://"+base.Host)
	if resp, err = c.Do(req); err != nil {
		return ""
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "/annotations/") {
		return strings.SplitN(loc, "?", 2)[0]
	}
	return ""
}

var sampleForm = regexp.MustCompile(`action="/samples/([^"/]+)/submit"`)

// sampleName finds the first sample's submit form on the upload page.
func sampleName(page string) string {
	if m := sampleForm.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// attackWeb sends the users' page views at the rate for the duration.
func attackWeb(ctx context.Context, base *url.URL, users []*webUser, f loadWebFlags) (webReport, *secondBins) {
	var turn atomic.Uint64
	var mu sync.Mutex
	targeter := func(t *vegeta.Target) error {
		u := users[int(turn.Add(1)-1)%len(users)]
		mu.Lock()
		page := u.pages[u.next%len(u.pages)]
		u.next++
		mu.Unlock()
		*t = vegeta.Target{Method: http.MethodGet, URL: base.String() + page,
			Header: http.Header{"Cookie": {"gas_session=" + u.cookie}}}
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.MaxWorkers(1000), vegeta.Redirects(vegeta.NoFollow),
		vegeta.KeepAlive(true), vegeta.MaxBody(0))
	pacer := vegeta.ConstantPacer{Freq: int(f.rate), Per: time.Second}
	if f.rate != float64(int(f.rate)) {
		pacer = vegeta.ConstantPacer{Freq: int(f.rate * 1000), Per: 1000 * time.Second}
	}
	return collectWeb(ctx, atk, atk.Attack(vegeta.Targeter(targeter), pacer, f.duration, "gas load web"), len(users), f)
}

func collectWeb(ctx context.Context, atk *vegeta.Attacker, results <-chan *vegeta.Result, users int, f loadWebFlags) (webReport, *secondBins) {
	var m vegeta.Metrics
	prog := &progress{start: time.Now(), quiet: f.json}
	bins := &secondBins{start: time.Now()}
	codes := map[string]int{}
	errors := 0
	for {
		select {
		case <-ctx.Done():
			atk.Stop()
		case r, ok := <-results:
			if !ok {
				prog.done()
				m.Close()
				return webReport{latencySummary: summarise(&m, errors), Users: users, Duration: f.duration.Seconds(), Codes: codes}, bins
			}
			m.Add(r)
			bins.add(r)
			codes[fmt.Sprint(r.Code)]++
			if failed(r) {
				errors++
			}
			prog.update(&m, errors, "")
		}
	}
}

func printWebReport(out io.Writer, r webReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	fmt.Fprintf(out, "users %d, %d requests in %.0f s: %.1f/s sent, %.1f/s succeeded, %d errors %v\n",
		r.Users, r.Requests, r.Duration, r.Rate, r.Through, r.Errors, r.Codes)
	fmt.Fprintf(out, "latency p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms\n", r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
	return nil
}

func loadWebFigure(base *url.URL, f loadWebFlags, b *secondBins) svgplot.Figure {
	var x, rate, errs, p50, p99 []float64
	for i := range b.lat {
		x = append(x, float64(i))
		rate, errs = append(rate, float64(len(b.lat[i]))), append(errs, float64(b.errs[i]))
		p50, p99 = append(p50, b.quantile(i, 0.50)), append(p99, b.quantile(i, 0.99))
	}
	return svgplot.Figure{
		Title:  fmt.Sprintf("gas load web: %d users, %g requests/s against %s", f.users, f.rate, base.Host),
		XLabel: "seconds",
		Panels: []svgplot.Panel{
			{Title: "requests per second", Lines: []svgplot.Line{{Name: "sent", X: x, Y: rate}, {Name: "errors", X: x, Y: errs}}},
			{Title: "latency (ms)", Lines: []svgplot.Line{{Name: "p50", X: x, Y: p50}, {Name: "p99", X: x, Y: p99}}},
		},
	}
}
