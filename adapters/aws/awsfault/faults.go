package awsfault

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Matcher selects the requests a fault applies to. body is the request's
// body, read once (the request keeps a copy for the real transport).
type Matcher func(r *http.Request, body []byte) bool

// Operation matches an AWS API call by name in any of the SDK's protocols:
// the X-Amz-Target header of JSON protocols (DynamoDB "PutItem", SQS
// "SendMessage") or the Action parameter of query protocols (SNS
// "Publish").
func Operation(name string) Matcher {
	return func(r *http.Request, body []byte) bool {
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			return strings.HasSuffix(t, "."+name)
		}
		return bytes.Contains(body, []byte("Action="+name+"&")) || bytes.HasSuffix(body, []byte("Action="+name))
	}
}

// Path matches REST calls whose URL path contains part (SES v2
// "/outbound-emails", an S3 key).
func Path(part string) Matcher {
	return func(r *http.Request, _ []byte) bool { return strings.Contains(r.URL.Path, part) }
}

// Query matches REST calls carrying query parameter name (S3 "restore").
func Query(name string) Matcher {
	return func(r *http.Request, _ []byte) bool { _, ok := r.URL.Query()[name]; return ok }
}

// BodyContains matches requests whose body contains part.
func BodyContains(part string) Matcher {
	return func(_ *http.Request, body []byte) bool { return bytes.Contains(body, []byte(part)) }
}

// All matches requests every m matches.
func All(ms ...Matcher) Matcher {
	return func(r *http.Request, body []byte) bool {
		for _, m := range ms {
			if !m(r, body) {
				return false
			}
		}
		return true
	}
}

// ErrInjected is what a request under Outage or LostAnswer fails with. Its
// text says "connection reset", which the SDK's retryer treats as a
// transient network error, exactly as it treats the real one.
var ErrInjected = errors.New("read tcp: connection reset by peer (injected by awsfault)")

// Injector is an http.RoundTripper below the SDK that breaks matching
// requests in the ways AWS and the network break them, which moto never
// does: an outage (the request fails before reaching the service), a lost
// answer (the request reaches the service and takes effect, then the
// answer is lost, so the SDK retries a call that already happened), and a
// canned error answer (SES MessageRejected, S3 RestoreAlreadyInProgress).
// Faults are added and removed while clients use it.
type Injector struct {
	// Next is the real transport (nil: http.DefaultTransport).
	Next http.RoundTripper

	mu     sync.Mutex
	faults []*fault
}

type fault struct {
	match   Matcher
	times   int // left; < 0: until removed
	lose    bool
	outage  bool
	respond func(r *http.Request) *http.Response
	hits    int
}

// Outage fails the next times matching requests (times < 0: every one
// until remove is called) without sending them.
func (in *Injector) Outage(m Matcher, times int) (remove func()) {
	return in.add(&fault{match: m, times: times, outage: true})
}

// LoseAnswer sends the next times matching requests (times < 0: every
// one until removed) and then loses their answers: the call took effect,
// the client sees a connection error.
func (in *Injector) LoseAnswer(m Matcher, times int) (remove func()) {
	return in.add(&fault{match: m, times: times, lose: true})
}

// Respond answers the next times matching requests (times < 0: until
// removed) with an AWS error document, without sending them. headers may
// carry X-Amzn-Errortype for JSON protocols.
func (in *Injector) Respond(m Matcher, times, status int, contentType string, headers map[string]string, body string) (remove func()) {
	return in.add(&fault{match: m, times: times, respond: func(r *http.Request) *http.Response {
		return fakeResponse(r, status, contentType, headers, body)
	}})
}

// Hits counts the requests faults were applied to.
func (in *Injector) Hits() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, f := range in.faults {
		n += f.hits
	}
	return n
}

func (in *Injector) add(f *fault) func() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = append(in.faults, f)
	return func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		f.times = 0
	}
}

// take returns the fault for r, if any, counting it.
func (in *Injector) take(r *http.Request, body []byte) *fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, f := range in.faults {
		if f.times != 0 && f.match(r, body) {
			if f.times > 0 {
				f.times--
			}
			f.hits++
			return f
		}
	}
	return nil
}

// RoundTrip implements http.RoundTripper.
func (in *Injector) RoundTrip(r *http.Request) (*http.Response, error) {
	next := in.Next
	if next == nil {
		next = http.DefaultTransport
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	f := in.take(r, body)
	switch {
	case f == nil:
		return next.RoundTrip(r)
	case f.outage:
		return nil, ErrInjected
	case f.respond != nil:
		return f.respond(r), nil
	}
	resp, err := next.RoundTrip(r) // lose: the call happens
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil, ErrInjected
}
