package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
)

// A job's GET may wait for the job to end (?wait=30s): the answer comes
// as soon as the job is COMPLETED, FAILED or CANCELLED, or when the wait
// is over, with the job as it then is. A script learns of the end within
// milliseconds without polling: each poll is a whole request (token, user
// and job read, about 0.3 ms of server CPU in local mode), while the
// waiting request re-reads the job alone, ever less often, or when the
// job store tells of a change (Options.JobChanged).
const (
	// maxWait is the longest wait asked for, under load balancers' idle
	// timeouts (60 s on an ALB by default).
	maxWait = 30 * time.Second
	// maxWaiters bounds one user's waiting requests, so nobody can have
	// the server re-read jobs for them thousands of times a second.
	maxWaiters = 8
)

// waitInterval is how long a waiting request sleeps before reading its
// job again, elapsed into the wait: 2 ms at first, a fiftieth of the
// time waited later (so a job that ends at t is seen by about t×1.02),
// at most a second (about 80 reads in a 30 s wait).
func waitInterval(elapsed time.Duration) time.Duration {
	return min(max(elapsed/50, 2*time.Millisecond), time.Second)
}

// parseWait reads ?wait=: absent is no wait; a Go duration up to maxWait.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxWait {
		return 0, fmt.Errorf("wait must be a duration from 0s to %s, such as wait=30s", maxWait)
	}
	return d, nil
}

// waiters counts each user's waiting requests.
type waiters struct {
	mu sync.Mutex
	n  map[domain.UserID]int
}

// enter takes one of u's waiting places, false when u has none left;
// leave gives it back.
func (ws *waiters) enter(u domain.UserID) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.n[u] >= maxWaiters {
		return false
	}
	if ws.n == nil {
		ws.n = map[domain.UserID]int{}
	}
	ws.n[u]++
	return true
}

func (ws *waiters) leave(u domain.UserID) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.n[u]--; ws.n[u] <= 0 {
		delete(ws.n, u)
	}
}

// errTooManyWaiters refuses a user's wait beyond maxWaiters.
var errTooManyWaiters = fmt.Errorf("at most %d requests of a user may wait at once", maxWaiters)

// awaitEnd re-reads j until its status is terminal, wait has passed or
// the request ends, and returns the job as last read. It re-reads when
// the job store says the job changed (Options.JobChanged, local mode),
// and at waitInterval in any case. A failed read ends the wait with the
// job as it was (a deleted job is then gone at the next request).
func (s *Server) awaitEnd(ctx context.Context, u *domain.User, j *domain.Job, wait time.Duration) (*domain.Job, error) {
	if j.Status().Terminal() || wait == 0 {
		return j, nil
	}
	if !s.waiting.enter(u.ID()) {
		return j, errTooManyWaiters
	}
	defer s.waiting.leave(u.ID())
	start := time.Now()
	// Each read happens while watching, so a change during or after it
	// wakes the next wait. The caller read j before the first watch, so
	// a watched wait reads once at once.
	changed, release := s.watchJob(j.ID())
	defer func() { release() }()
	first := s.waitInterval(0)
	if s.o.JobChanged != nil {
		first = 0
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return j, nil
		case <-t.C:
		case <-changed:
		}
		release()
		changed, release = s.watchJob(j.ID())
		next, err := s.d.Jobs.Get(ctx, u.ID(), j.ID())
		if err != nil {
			if !isNotFound(err) && !errors.Is(err, context.Canceled) {
				s.log.WarnContext(ctx, "api wait: read job", "job", j.ID(), "err", err)
			}
			return j, nil
		}
		j = next
		elapsed := time.Since(start)
		if j.Status().Terminal() || elapsed >= wait {
			return j, nil
		}
		t.Reset(min(s.waitInterval(elapsed), wait-elapsed))
	}
}

// waitInterval is the time between re-reads: a second where the job
// store tells of changes (they are for what it cannot see), waitInterval
// elsewhere.
func (s *Server) waitInterval(elapsed time.Duration) time.Duration {
	if s.o.JobChanged != nil {
		return time.Second
	}
	return waitInterval(elapsed)
}

// watchJob is Options.JobChanged, or a channel that never fires.
func (s *Server) watchJob(id domain.JobID) (<-chan struct{}, func()) {
	if s.o.JobChanged == nil {
		return nil, func() {}
	}
	return s.o.JobChanged(id)
}

// apiGet answers a job's JSON, after waiting for its end if asked to.
func (s *Server) apiGet(w http.ResponseWriter, r *http.Request, u *domain.User, j *domain.Job) {
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	j, err = s.awaitEnd(r.Context(), u, j, wait)
	if err != nil {
		apiError(w, http.StatusTooManyRequests, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, jobToJSON(j, s.decide(j, u)))
}
