package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadJobsFlags is gas load jobs's command line.
type loadJobsFlags struct {
	url, token, file, arrivals, trace, plot string
	rate                                    float64
	duration, maxWait                       time.Duration
	seed                                    uint64
	json, allowRemote                       bool
}

func parseLoadJobs(args []string) (loadJobsFlags, error) {
	fs := flag.NewFlagSet("load jobs", flag.ContinueOnError)
	var f loadJobsFlags
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "`URL` of the site to load")
	fs.StringVar(&f.token, "token", os.Getenv("GAS_TOKEN"), "personal API `TOKEN` (Profile page)")
	fs.StringVar(&f.file, "file", "", "VCF `FILE` to submit, again and again")
	fs.Float64Var(&f.rate, "rate", 1, "jobs submitted per second")
	fs.DurationVar(&f.duration, "duration", time.Minute, "how long to submit")
	fs.StringVar(&f.arrivals, "arrivals", "poisson", "`ARRIVALS`: poisson (random gaps, as independent users) or constant")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the Poisson arrivals")
	fs.DurationVar(&f.maxWait, "max-wait", 10*time.Minute, "how long to follow jobs after the last submission")
	fs.StringVar(&f.trace, "trace", "", "write every job's submitted, started and completed times as JSON lines to `FILE`")
	fs.BoolVar(&f.json, "json", false, "print one JSON object at the end")
	fs.StringVar(&f.plot, "plot", "", "write an SVG of the backlog over time to `FILE`")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a URL that is not loopback")
	showDefault(fs, "token", "$GAS_TOKEN")
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.token == "" || f.file == "":
		return f, fmt.Errorf("%w: --token and --file are required", errUsage)
	case f.arrivals != "poisson" && f.arrivals != "constant":
		return f, fmt.Errorf("%w: --arrivals %q is not poisson or constant", errUsage, f.arrivals)
	case f.maxWait <= 0 || f.maxWait > maxLoadDuration:
		return f, fmt.Errorf("%w: --max-wait must be in (0, %v]", errUsage, maxLoadDuration)
	}
	return f, nil
}

// jobRecord is one submitted job as the server reports it.
type jobRecord struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	SubmittedAt time.Time  `json:"submitted_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

func (j jobRecord) done() bool {
	return j.Status == "COMPLETED" || j.Status == "FAILED" || j.Status == "CANCELLED"
}

// jobsReport is gas load jobs's --json.
type jobsReport struct {
	Submit       latencySummary `json:"submit"`
	Submitted    int            `json:"submitted"`
	SubmitErrors int            `json:"submit_errors"`
	SubmitRate   float64        `json:"submit_rate"`
	Completed    int            `json:"completed"`
	Failed       int            `json:"failed"`
	Unfinished   int            `json:"unfinished"`
	WaitP50s     float64        `json:"wait_p50_s"`
	WaitP95s     float64        `json:"wait_p95_s"`
	WaitP99s     float64        `json:"wait_p99_s"`
	DoneP50s     float64        `json:"completion_p50_s"`
	DoneP95s     float64        `json:"completion_p95_s"`
	DoneP99s     float64        `json:"completion_p99_s"`
}

func runLoadJobs(ctx context.Context, args []string, out io.Writer) error {
	f, err := parseLoadJobs(args)
	if err != nil {
		return err
	}
	base, err := loadTarget(f.url, f.allowRemote, f.rate, f.duration)
	if err != nil {
		return err
	}
	body, ctype, err := submission(f.file)
	if err != nil {
		return err
	}
	fol := newFollower(base, f.token)
	go fol.run(ctx)
	sub, ids := submitJobs(ctx, base, f, body, ctype)
	fmt.Fprintf(os.Stderr, "gas load jobs: %d submitted, following them to completion\n", len(ids))
	recs := fol.wait(ctx, ids, f.maxWait)
	rep := jobsSummary(sub, recs, len(ids), f.duration)
	if f.trace != "" {
		if err := writeTrace(f.trace, recs); err != nil {
			return err
		}
	}
	if f.plot != "" {
		if err := writePlot(f.plot, backlogFigure(base, f, recs)); err != nil {
			return err
		}
	}
	return printJobsReport(out, rep, f.json)
}

// submission is the multipart body posting the file to /api/v1/jobs.
func submission(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("--file: %w", err)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	_, _ = fw.Write(data)
	_ = mw.Close()
	return b.Bytes(), mw.FormDataContentType(), nil
}

// poissonPacer submits at precomputed random instants: exponential gaps
// with mean 1/rate, from a seed, so a run can be replayed exactly.
type poissonPacer struct {
	at   []time.Duration
	rate float64
}

func newPoissonPacer(rate float64, d time.Duration, seed uint64) poissonPacer {
	rng := rand.New(rand.NewPCG(seed, 0x10ad))
	p := poissonPacer{rate: rate}
	for t := time.Duration(0); ; {
		t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
		if t >= d {
			return p
		}
		p.at = append(p.at, t)
	}
}

func (p poissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= uint64(len(p.at)) {
		return 0, true
	}
	return max(0, p.at[hits]-elapsed), false
}

func (p poissonPacer) Rate(time.Duration) float64 { return p.rate }

// submitJobs posts the file at the chosen arrivals and returns the submit
// requests' figures and the ids of the accepted jobs.
func submitJobs(ctx context.Context, base *url.URL, f loadJobsFlags, body []byte, ctype string) (latencySummary, []string) {
	hdr := http.Header{"Authorization": {"Bearer " + f.token}, "Content-Type": {ctype}}
	tgt := vegeta.Target{Method: http.MethodPost, URL: base.String() + "/api/v1/jobs", Body: body, Header: hdr}
	var pacer vegeta.Pacer = vegeta.ConstantPacer{Freq: max(1, int(f.rate*1000)), Per: 1000 * time.Second}
	if f.arrivals == "poisson" {
		pacer = newPoissonPacer(f.rate, f.duration, f.seed)
	}
	atk := vegeta.NewAttacker(vegeta.Timeout(60*time.Second), vegeta.MaxWorkers(256), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	var ids []string
	errors := 0
	prog := &progress{start: time.Now(), quiet: f.json}
	for r := range atk.Attack(vegeta.NewStaticTargeter(tgt), pacer, f.duration, "gas load jobs") {
		if ctx.Err() != nil {
			atk.Stop()
		}
		m.Add(r)
		var j jobRecord
		if failed(r) || json.Unmarshal(r.Body, &j) != nil || j.ID == "" {
			errors++
		} else {
			ids = append(ids, j.ID)
		}
		prog.update(&m, errors, "")
	}
	prog.done()
	m.Close()
	return summarise(&m, errors), ids
}

func jobsSummary(sub latencySummary, recs []jobRecord, submitted int, d time.Duration) jobsReport {
	rep := jobsReport{Submit: sub, Submitted: submitted, SubmitErrors: sub.Errors, SubmitRate: float64(submitted) / d.Seconds()}
	var waits, dones []time.Duration
	for _, j := range recs {
		switch {
		case j.Status == "COMPLETED":
			rep.Completed++
		case j.done():
			rep.Failed++
		default:
			rep.Unfinished++
		}
		if j.StartedAt != nil {
			waits = append(waits, j.StartedAt.Sub(j.SubmittedAt))
		}
		if j.CompletedAt != nil && j.Status == "COMPLETED" {
			dones = append(dones, j.CompletedAt.Sub(j.SubmittedAt))
		}
	}
	q := func(ds []time.Duration, p float64) float64 { return quantileOf(ds, p).Seconds() }
	rep.WaitP50s, rep.WaitP95s, rep.WaitP99s = q(waits, 0.50), q(waits, 0.95), q(waits, 0.99)
	rep.DoneP50s, rep.DoneP95s, rep.DoneP99s = q(dones, 0.50), q(dones, 0.95), q(dones, 0.99)
	return rep
}

// quantileOf is the nearest-rank q-quantile (0 when empty).
func quantileOf(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func printJobsReport(out io.Writer, r jobsReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	fmt.Fprintf(out, "submitted %d (%.2f/s), %d submit errors, submit p99 %.1f ms\n", r.Submitted, r.SubmitRate, r.SubmitErrors, r.Submit.P99ms)
	fmt.Fprintf(out, "completed %d, failed %d, unfinished %d\n", r.Completed, r.Failed, r.Unfinished)
	fmt.Fprintf(out, "wait for an annotator p50 %.2f s  p95 %.2f s  p99 %.2f s\n", r.WaitP50s, r.WaitP95s, r.WaitP99s)
	fmt.Fprintf(out, "submit to completed   p50 %.2f s  p95 %.2f s  p99 %.2f s\n", r.DoneP50s, r.DoneP95s, r.DoneP99s)
	return nil
}
