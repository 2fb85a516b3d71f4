package workers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// injectFaults picks this schedule's infrastructure faults: a share of
// publishes and queue sends silently lost (none, 3% or 8%), and a storage
// index lagging behind the jobs (none, 30 s or 2 min).
func (s *schedule) injectFaults() {
	loss := []float64{0, 0.03, 0.08}[s.rng.IntN(3)]
	lag := []time.Duration{0, 30 * time.Second, 2 * time.Minute}[s.rng.IntN(3)]
	if loss > 0 {
		s.w.lose = func(what string) bool {
			if s.rng.Float64() >= loss {
				return false
			}
			s.stats.Lost++
			s.logf("lost %s", what)
			return true
		}
	}
	if lag > 0 {
		s.stats.Lagging++
		s.w.jobStore.mu.Lock()
		s.w.jobStore.lag = lag
		s.w.jobStore.mu.Unlock()
	}
	s.logf("faults: lose %.0f%% of messages, index lag %s", loss*100, lag)
}

// stopFaults ends the infrastructure faults: what follows is recovery.
func (s *schedule) stopFaults() {
	s.w.lose = nil
	s.w.jobStore.mu.Lock()
	s.w.jobStore.lag = 0
	s.w.jobStore.mu.Unlock()
}

// dropDeadLetter loses a dead letter before its handler sees it (a purge,
// a retention lapse, an operator's mistake).
func (s *schedule) dropDeadLetter() {
	var dead []string
	for _, q := range queueNames {
		if s.w.stats(dlq(q)).Visible > 0 {
			dead = append(dead, dlq(q))
		}
	}
	if len(dead) == 0 {
		return
	}
	q := dead[s.rng.IntN(len(dead))]
	if m, ok := s.w.receive(q); ok {
		s.drop(q, m)
	}
}

// drop deletes delivery m of dead-letter queue q unhandled.
func (s *schedule) drop(q string, m ports.Message) {
	if err := s.w.queues[q].Delete(s.w.ctx, m.Receipt); err != nil {
		s.w.t.Fatal(err)
	}
	s.stats.DroppedDeadLetters++
	s.logf("dead letter dropped from %s: %s", q, m.Body)
}

// reconcile runs the reconciler as a worker of its own, which may crash or
// pause at any port call like the others.
func (s *schedule) reconcile() {
	failAt, parkAt := s.faultPoints(0)
	s.nextID++
	p := &worker{id: s.nextID, queue: "reconciler", inj: newInjector(failAt, parkAt), done: make(chan error, 1)}
	s.stats.Reconciles++
	s.logf("worker %d reconciles fail@%d park@%d", p.id, failAt, parkAt)
	r := s.w.ports(p.inj).reconciler()
	s.current = p.id
	go func() {
		rep, err := r.Reconcile(s.w.ctx, false)
		if err == nil && rep.Total() > 0 {
			s.logf("reconciler %d repaired %v", p.id, rep.Found)
		}
		p.done <- err
	}()
	s.wait(p)
}

// converge is the recovery: the faults have stopped and the system is
// drained. One reconcile interval after the last thing that was due (a
// lease, a window, an expected restore, a notice hold) the reconciler runs
// once, and what it re-issued is delivered; then every job must be in its
// final state, and a second reconciliation must find nothing left.
func (s *schedule) converge() error {
	w := s.w
	due, err := s.lastDue()
	if err != nil {
		return err
	}
	w.clock.Set(later(w.clock.Now(), due).Add(w.cfg.ReconcileGrace + time.Second))
	rep, err := w.ports(nil).reconciler().Reconcile(w.ctx, false)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	s.stats.Repairs += rep.Total()
	s.stats.Parked += s.parkedCount()
	s.logf("recovery reconciliation: %v (deferred %d)", rep.Found, rep.Deferred)
	if err := s.drain(); err != nil {
		return err
	}
	if err := s.final(); err != nil {
		return fmt.Errorf("after one reconciliation (%v): %w", rep.Found, err)
	}
	w.clock.Advance(w.cfg.ReconcileGrace + time.Second)
	again, err := w.ports(nil).reconciler().Reconcile(w.ctx, false)
	if err != nil {
		return fmt.Errorf("reconcile again: %w", err)
	}
	if again.Total() != 0 || again.Deferred != 0 {
		return fmt.Errorf("a converged system still has findings: %v (deferred %d)", again.Found, again.Deferred)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lastDue is the latest moment any job is waiting for: a lease, a free
// window, an expected restore, a notice hold.
func (s *schedule) lastDue() (time.Time, error) {
	var due time.Time
	err := s.w.jobStore.Scan(s.w.ctx, func(j *domain.Job) error {
		for _, t := range []time.Time{j.LeaseUntil(), j.RestoreExpectedBy(), j.NoticeHeldUntil(),
			j.CompletedAt().Add(s.w.policy.FreeWindow)} {
			due = later(due, t)
		}
		return nil
	})
	return due, err
}

// parkedCount is how many dead letters were parked.
func (s *schedule) parkedCount() int {
	st, err := s.w.parked.Stats(context.Background())
	if err != nil {
		s.w.t.Fatal(err)
	}
	return st.Visible + st.InFlight + st.Delayed
}
