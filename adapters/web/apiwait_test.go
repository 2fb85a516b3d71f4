package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
)

func (c *apiCall) submit() string {
	var buf bytes.Buffer
	ct := multipartWriter(&buf, nil, "file", "wait.vcf", []byte(sampleVCF))
	sub := c.do("POST", "/api/v1/jobs", &buf, ct)
	var j struct{ ID string }
	must(c.h.t, json.Unmarshal([]byte(sub.body), &j))
	if sub.StatusCode != http.StatusCreated || j.ID == "" {
		c.h.t.Fatalf("submit: %d %s", sub.StatusCode, sub.body)
	}
	return j.ID
}

func statusOf(t *testing.T, r resp) string {
	t.Helper()
	var j struct{ Status string }
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &j) != nil {
		t.Fatalf("job: %d %s", r.StatusCode, r.body)
	}
	return j.Status
}

// A waiting GET answers as soon as the job ends, with the ended job; one
// whose job does not end answers at the end of its wait, unchanged.
func TestAPIWaitAnswersWhenTheJobEnds(t *testing.T) {
	h := newHarness(t)
	c := &apiCall{h, h.signIn("Ann", "ann@example.org", domain.TierPremium).newToken("script")}
	id := c.submit()

	start := time.Now()
	if got := statusOf(t, c.do("GET", "/api/v1/jobs/"+id+"?wait=150ms", nil, "")); got != "PENDING" {
		t.Fatalf("after a wait the job did not end in: %s", got)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("answered after %v of a 150ms wait", waited)
	}

	done := make(chan resp)
	start = time.Now()
	go func() { done <- c.do("GET", "/api/v1/jobs/"+id+"?wait=30s", nil, "") }()
	time.Sleep(300 * time.Millisecond)
	h.complete(domain.JobID(id))
	select {
	case r := <-done:
		if got := statusOf(t, r); got != "COMPLETED" {
			t.Fatalf("waited for the end, got %s", got)
		}
		if !strings.Contains(r.body, `"result"`) {
			t.Fatalf("the ended job's links are missing: %s", r.body)
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Fatalf("answered %v after the job ended", waited-300*time.Millisecond)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting request did not answer when its job completed")
	}

	start = time.Now() // an ended job answers at once
	if got := statusOf(t, c.do("GET", "/api/v1/jobs/"+id+"?wait=30s", nil, "")); got != "COMPLETED" || time.Since(start) > 2*time.Second {
		t.Fatalf("ended job: %s after %v", got, time.Since(start))
	}
}

func TestAPIWaitRefusesBadWaitsAndTooManyWaiters(t *testing.T) {
	h := newHarness(t)
	c := &apiCall{h, h.signIn("Ann", "ann@example.org", domain.TierPremium).newToken("script")}
	id := c.submit()
	for _, w := range []string{"soon", "-1s", "31s", "1h"} {
		r := c.do("GET", "/api/v1/jobs/"+id+"?wait="+w, nil, "")
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "wait must be a duration") {
			t.Errorf("wait=%s: %d %s", w, r.StatusCode, r.body)
		}
	}

	// Eight of Ann's requests wait; her ninth is refused, and Bob's waits.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { c.do("GET", "/api/v1/jobs/"+id+"?wait=3s", nil, "") })
	}
	time.Sleep(500 * time.Millisecond)
	r := c.do("GET", "/api/v1/jobs/"+id+"?wait=3s", nil, "")
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "at most 8") {
		t.Errorf("ninth waiter: %d %s", r.StatusCode, r.body)
	}
	bob := &apiCall{h, h.signIn("Bob", "bob@example.org", domain.TierFree).newToken("script")}
	bid := bob.submit()
	if got := statusOf(t, bob.do("GET", "/api/v1/jobs/"+bid+"?wait=100ms", nil, "")); got != "PENDING" {
		t.Errorf("another user's wait: %s", got)
	}
	wg.Wait()
	if got := statusOf(t, c.do("GET", "/api/v1/jobs/"+id+"?wait=10ms", nil, "")); got != "PENDING" {
		t.Errorf("after the waiters left: %s", got)
	}
}

// Where the job store tells of changes (Options.JobChanged, local mode),
// a waiting GET answers at the change, not at its next re-read, which is
// a second away there.
func TestAPIWaitWakesWhenTheStoreTellsOfAChange(t *testing.T) {
	changed := make(chan struct{})
	var watched sync.WaitGroup // until the wait has read the job once and waits, watching
	watched.Add(1)
	var mu sync.Mutex
	calls := 0
	h := newHarness(t, func(o *web.Options, _ *web.Deps) {
		o.JobChanged = func(domain.JobID) (<-chan struct{}, func()) {
			mu.Lock()
			defer mu.Unlock()
			if calls++; calls == 2 {
				watched.Done()
			}
			return changed, func() {}
		}
	})
	c := &apiCall{h, h.signIn("Ann", "ann@example.org", domain.TierPremium).newToken("script")}
	id := c.submit()

	done := make(chan resp)
	start := time.Now()
	go func() { done <- c.do("GET", "/api/v1/jobs/"+id+"?wait=30s", nil, "") }()
	watched.Wait()
	h.complete(domain.JobID(id))
	close(changed)
	select {
	case r := <-done:
		if got := statusOf(t, r); got != "COMPLETED" {
			t.Fatalf("woken at the change, got %s", got)
		}
		if waited := time.Since(start); waited > 700*time.Millisecond {
			t.Fatalf("answered %v into the wait: at a re-read, not at the change", waited)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting request did not answer when its job changed")
	}
}
