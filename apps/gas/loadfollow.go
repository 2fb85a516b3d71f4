package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gasproject/gas/apps/internal/svgplot"
)

// follower polls the jobs gas load jobs submitted until each is done.
type follower struct {
	base   *url.URL
	token  string
	client *http.Client
	mu     sync.Mutex
	recs   map[string]jobRecord
}

func newFollower(base *url.URL, token string) *follower {
	return &follower{base: base, token: token, client: setupClient(), recs: map[string]jobRecord{}}
}

// pollEvery is the pause between two rounds over the unfinished jobs.
const pollEvery = 250 * time.Millisecond

// run polls every known unfinished job each round until ctx ends.
func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		f.round(ctx)
		sleepCtx(ctx, pollEvery)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// round polls up to 8 unfinished jobs at a time.
func (f *follower) round(ctx context.Context) {
	f.mu.Lock()
	var ids []string
	for id, r := range f.recs {
		if !r.done() {
			ids = append(ids, id)
		}
	}
	f.mu.Unlock()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if r, err := f.get(ctx, id); err == nil {
				f.mu.Lock()
				f.recs[id] = r
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func (f *follower) get(ctx context.Context, id string) (jobRecord, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.base.String()+"/api/v1/jobs/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.client.Do(req)
	if err != nil {
		return jobRecord{}, err
	}
	defer resp.Body.Close()
	var j jobRecord
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return j, fmt.Errorf("job %s: %s", id, resp.Status)
	}
	return j, json.NewDecoder(resp.Body).Decode(&j)
}

// wait follows ids until all are done or maxWait passes, and returns the
// last record of each (jobs never seen keep only their id).
func (f *follower) wait(ctx context.Context, ids []string, maxWait time.Duration) []jobRecord {
	f.mu.Lock()
	for _, id := range ids {
		if _, ok := f.recs[id]; !ok {
			f.recs[id] = jobRecord{ID: id, Status: "SUBMITTED"}
		}
	}
	f.mu.Unlock()
	deadline := time.Now().Add(maxWait)
	for ctx.Err() == nil && time.Now().Before(deadline) && f.unfinished() > 0 {
		sleepCtx(ctx, pollEvery)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]jobRecord, 0, len(ids))
	for _, id := range ids {
		out = append(out, f.recs[id])
	}
	return out
}

func (f *follower) unfinished() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.recs {
		if !r.done() {
			n++
		}
	}
	return n
}

// traceLine is one job of --trace, in seconds since the first submission.
type traceLine struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Submitted float64  `json:"submitted_s"`
	Started   *float64 `json:"started_s,omitempty"`
	Completed *float64 `json:"completed_s,omitempty"`
}

func traceOf(recs []jobRecord) []traceLine {
	var t0 time.Time
	for _, r := range recs {
		if !r.SubmittedAt.IsZero() && (t0.IsZero() || r.SubmittedAt.Before(t0)) {
			t0 = r.SubmittedAt
		}
	}
	rel := func(t *time.Time) *float64 {
		if t == nil {
			return nil
		}
		s := t.Sub(t0).Seconds()
		return &s
	}
	out := make([]traceLine, 0, len(recs))
	for _, r := range recs {
		if r.SubmittedAt.IsZero() {
			continue
		}
		out = append(out, traceLine{ID: r.ID, Status: r.Status, Submitted: r.SubmittedAt.Sub(t0).Seconds(),
			Started: rel(r.StartedAt), Completed: rel(r.CompletedAt)})
	}
	return out
}

func writeTrace(path string, recs []jobRecord) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, l := range traceOf(recs) {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return fmt.Errorf("--trace: %w", err)
		}
	}
	return f.Close()
}

// backlogFigure plots, second by second, jobs waiting for an annotator
// and jobs being annotated, from the server's timestamps.
func backlogFigure(base *url.URL, f loadJobsFlags, recs []jobRecord) svgplot.Figure {
	tr := traceOf(recs)
	end := 0.0
	for _, l := range tr {
		end = max(end, l.Submitted)
		if l.Completed != nil {
			end = max(end, *l.Completed)
		}
	}
	var x, waiting, running []float64
	for s := 0.0; s <= end+1; s++ {
		w, r := 0.0, 0.0
		for _, l := range tr {
			switch {
			case l.Submitted > s:
			case l.Started == nil || *l.Started > s:
				w++
			case l.Completed == nil || *l.Completed > s:
				r++
			}
		}
		x, waiting, running = append(x, s), append(waiting, w), append(running, r)
	}
	return svgplot.Figure{
		Title:  fmt.Sprintf("gas load jobs: %s at %g jobs/s (%s) against %s", f.file, f.rate, f.arrivals, base.Host),
		XLabel: "seconds since the first submission",
		Panels: []svgplot.Panel{{Title: "jobs", Lines: []svgplot.Line{{Name: "waiting", X: x, Y: waiting}, {Name: "annotating", X: x, Y: running}}}},
	}
}
