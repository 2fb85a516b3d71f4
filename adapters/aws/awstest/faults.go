package awstest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// ExpeditedRefuser is an http.RoundTripper that answers Expedited
// retrieval requests the way AWS does when it has no Expedited capacity —
// S3 RestoreObject with 503 GlacierExpeditedRetrievalNotAvailable, Glacier
// InitiateJob with InsufficientCapacityException — while Refuse is on, and
// passes everything else to the real transport. moto cannot produce these
// errors, so tests inject them here, below the SDK, exactly where AWS's
// answer would arrive.
type ExpeditedRefuser struct {
	Next    http.RoundTripper // nil: http.DefaultTransport
	refuse  atomic.Bool
	mu      sync.Mutex
	refused int
}

// Refuse switches the refusal on or off.
func (e *ExpeditedRefuser) Refuse(on bool) { e.refuse.Store(on) }

// Refused counts the refusals served (a retrying client would make more
// than one per call).
func (e *ExpeditedRefuser) Refused() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.refused
}

// RoundTrip implements http.RoundTripper.
func (e *ExpeditedRefuser) RoundTrip(r *http.Request) (*http.Response, error) {
	next := e.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if !e.refuse.Load() || r.Method != http.MethodPost || r.Body == nil {
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
		e.count()
		return response(r, http.StatusServiceUnavailable, "application/xml", nil,
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>GlacierExpeditedRetrievalNotAvailable</Code>`+
				`<Message>Glacier expedited retrievals are currently not available, please try again later</Message>`+
				`<RequestId>gas-test</RequestId></Error>`), nil
	case isVaultJob && bytes.Contains(body, []byte(`"Tier":"Expedited"`)):
		e.count()
		return response(r, http.StatusBadRequest, "application/json",
			map[string]string{"X-Amzn-Errortype": "InsufficientCapacityException"},
			`{"code":"InsufficientCapacityException","message":"There is insufficient capacity to process this expedited request.","type":"Client"}`), nil
	}
	return next.RoundTrip(r)
}

func (e *ExpeditedRefuser) count() {
	e.mu.Lock()
	e.refused++
	e.mu.Unlock()
}

func response(r *http.Request, status int, contentType string, headers map[string]string, body string) *http.Response {
	h := http.Header{"Content-Type": {contentType}}
	for k, v := range headers {
		h.Set(k, v)
	}
	return &http.Response{
		Status: http.StatusText(status), StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}
}
