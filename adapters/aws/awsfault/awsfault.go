// Package awsfault holds fault injections for the AWS SDK clients, below
// the SDK, where AWS's answers would arrive. moto cannot produce these
// answers, so tests (and the roles' loopback-only test hooks) inject them
// here, and the adapters' error translation is exercised as in production.
// It must not import "testing": the role binaries link it.
package awsfault

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// ExpeditedRefusal is an http.RoundTripper that, while refusing, answers
// Expedited retrievals of matching archives the way AWS does when it has no
// Expedited capacity — S3 RestoreObject with 503
// GlacierExpeditedRetrievalNotAvailable, Glacier InitiateJob with
// InsufficientCapacityException — and passes every other request to the
// real transport.
//
// The zero value refuses nothing until Refuse(true); NewExpeditedRefusal
// makes one that refuses from the start.
type ExpeditedRefusal struct {
	// Match selects archives by a substring of the request path (which holds
	// the archive key, and so the owner and job); "" and "*" match all.
	Match string
	// Next is the real transport (nil: http.DefaultTransport).
	Next http.RoundTripper

	refuse  atomic.Bool
	refused atomic.Int64
}

// NewExpeditedRefusal refuses Expedited retrievals of the archives match
// selects, from the start, passing other requests to next (nil:
// http.DefaultTransport).
func NewExpeditedRefusal(match string, next http.RoundTripper) *ExpeditedRefusal {
	e := &ExpeditedRefusal{Match: match, Next: next}
	e.refuse.Store(true)
	return e
}

// Refuse switches the refusal on or off.
func (e *ExpeditedRefusal) Refuse(on bool) { e.refuse.Store(on) }

// Refused counts the refusals served (a retrying client would make more
// than one per call).
func (e *ExpeditedRefusal) Refused() int { return int(e.refused.Load()) }

func (e *ExpeditedRefusal) matches(r *http.Request) bool {
	return e.Match == "" || e.Match == "*" || strings.Contains(r.URL.Path, e.Match)
}

// RoundTrip implements http.RoundTripper.
func (e *ExpeditedRefusal) RoundTrip(r *http.Request) (*http.Response, error) {
	next := e.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if !e.refuse.Load() || r.Method != http.MethodPost || r.Body == nil || !e.matches(r) {
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
		e.refused.Add(1)
		return fakeResponse(r, http.StatusServiceUnavailable, "application/xml", nil,
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>GlacierExpeditedRetrievalNotAvailable</Code>`+
				`<Message>Glacier expedited retrievals are currently not available, please try again later</Message>`+
				`<RequestId>gas-test</RequestId></Error>`), nil
	case isVaultJob && bytes.Contains(body, []byte(`"Tier":"Expedited"`)):
		e.refused.Add(1)
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
