package role

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// This file holds the test-only fault injections of Hooks. Config.Validate
// refuses them unless the AWS endpoint is a loopback test server.

// ExpeditedRefusal is an http.RoundTripper for the SDK clients that answers
// Expedited retrievals of matching archives the way AWS does when it has no
// Expedited capacity — S3 RestoreObject with 503
// GlacierExpeditedRetrievalNotAvailable, Glacier InitiateJob with
// InsufficientCapacityException — and passes every other request on. moto
// cannot produce these answers, so tests inject them below the SDK, where
// AWS's answer would arrive, and the cold-storage adapter's error
// translation is exercised as in production.
type ExpeditedRefusal struct {
	// Match selects archives by a substring of the request path (which holds
	// the archive key, and so the owner and job); "*" matches all.
	Match string
	// Next is the real transport (nil: http.DefaultTransport).
	Next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (e *ExpeditedRefusal) RoundTrip(r *http.Request) (*http.Response, error) {
	next := e.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if r.Method != http.MethodPost || r.Body == nil || (e.Match != "*" && !strings.Contains(r.URL.Path, e.Match)) {
		return next.RoundTrip(r)
	}
	_, isRestore := r.URL.Query()["restore"]
	isVaultJob := strings.HasSuffix(r.URL.Path, "/jobs")
	if !isRestore && !isVaultJob {
		return next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case isRestore && bytes.Contains(body, []byte("<Tier>Expedited</Tier>")):
		return fakeResponse(r, http.StatusServiceUnavailable, "application/xml", nil,
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>GlacierExpeditedRetrievalNotAvailable</Code>`+
				`<Message>Glacier expedited retrievals are currently not available, please try again later</Message>`+
				`<RequestId>gas-test-hook</RequestId></Error>`), nil
	case isVaultJob && bytes.Contains(body, []byte(`"Tier":"Expedited"`)):
		return fakeResponse(r, http.StatusBadRequest, "application/json",
			map[string]string{"X-Amzn-Errortype": "InsufficientCapacityException"},
			`{"code":"InsufficientCapacityException","message":"There is insufficient capacity to process this expedited request.","type":"Client"}`), nil
	}
	return next.RoundTrip(r)
}

func fakeResponse(r *http.Request, status int, contentType string, headers map[string]string, body string) *http.Response {
	h := http.Header{"Content-Type": {contentType}}
	for k, v := range headers {
		h.Set(k, v)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}
}

// ErrInjected marks failures made by a test hook.
var ErrInjected = errors.New("injected test fault")

// FaultyJobs wraps a job store with the FailJobWrites and JobWriteDelay
// hooks.
type FaultyJobs struct {
	ports.JobStore
	hooks Hooks
}

// WithJobHooks wraps s when a job-store hook is set.
func WithJobHooks(s ports.JobStore, h Hooks) ports.JobStore {
	if h.FailJobWrites == "" && h.JobWriteDelay == 0 {
		return s
	}
	return &FaultyJobs{JobStore: s, hooks: h}
}

func (f *FaultyJobs) before(ctx context.Context, j *domain.Job) error {
	if f.hooks.JobWriteDelay > 0 {
		t := time.NewTimer(f.hooks.JobWriteDelay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if f.hooks.FailJobWrites != "" && strings.Contains(j.InputName(), f.hooks.FailJobWrites) {
		return fmt.Errorf("write job %s: %w (GAS_TEST_FAIL_JOB_WRITES)", j.ID(), ErrInjected)
	}
	return nil
}

// Update applies the hooks, then writes.
func (f *FaultyJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	if err := f.before(ctx, j); err != nil {
		return nil, err
	}
	return f.JobStore.Update(ctx, j)
}

// SlowAnnotator holds each annotation for a delay before it starts (the
// AnnotateDelay hook), so a test can kill or stop a process mid-job.
type SlowAnnotator struct {
	ports.Annotator
	Delay time.Duration
}

// WithAnnotateDelay wraps a when the hook is set.
func WithAnnotateDelay(a ports.Annotator, d time.Duration) ports.Annotator {
	if d <= 0 {
		return a
	}
	return &SlowAnnotator{Annotator: a, Delay: d}
}

// Annotate waits, then annotates; cancelling ctx ends the wait.
func (s *SlowAnnotator) Annotate(ctx context.Context, in io.Reader, out io.Writer) (domain.Summary, error) {
	t := time.NewTimer(s.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return domain.Summary{}, ctx.Err()
	case <-t.C:
	}
	return s.Annotator.Annotate(ctx, in, out)
}
