package workers_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/email"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

// The invariants TestRandomSchedules checks after every step (check),
// once the faults stop (drain) and at the end (final).

// check is the invariant after every step: no COMPLETED job's result is
// lost (it is hot, or in the archive, byte for byte), no job was claimed
// over a live lease, and no job completed twice.
func (s *schedule) check() error {
	if s.violation != nil {
		return s.violation
	}
	js, err := s.jobs()
	if err != nil {
		return err
	}
	emails := s.emails()
	for _, j := range js {
		if err := resultKept(s.w, j); err != nil {
			return err
		}
		if n := s.w.jobStore.completions[j.ID()]; n > 1 {
			return fmt.Errorf("job %s completed %d times", j.ID(), n)
		}
		if n := emails[j.ID()]; n > 1 && !s.disturbed[j.ID()] {
			return fmt.Errorf("owner of job %s e-mailed %d times though no notifier of it failed", j.ID(), n)
		}
	}
	return nil
}

// emails counts the e-mails sent about each job (by the link they carry).
func (s *schedule) emails() map[domain.JobID]int {
	out := map[domain.JobID]int{}
	prefix := email.JobURL(testBaseURL, "")
	for _, e := range s.w.outbox.Sent() {
		_, rest, ok := strings.Cut(e.Text, prefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "\n")
		out[domain.JobID(id)]++
	}
	return out
}

// drain lets every paused worker finish (or die), then delivers everything
// with healthy workers, moving time on, until all queues are empty.
func (s *schedule) drain() error {
	w := s.w
	for len(s.parked) > 0 {
		p := s.parked[0]
		s.parked = s.parked[1:]
		p.inj.rearm(0, 0)
		s.current = p.id
		resume := s.rng.IntN(3) > 0
		s.logf("drain: worker %d resumes=%v", p.id, resume)
		p.inj.resume <- resume
		s.wait(p)
		if err := s.check(); err != nil {
			return err
		}
	}
	for round := 0; round < 200; round++ {
		for moved := true; moved; {
			moved = false
			for _, q := range queueNames {
				for _, name := range []string{q, dlq(q)} {
					m, ok := w.receive(name)
					if !ok {
						continue
					}
					moved = true
					s.nextID++
					s.current = s.nextID
					err := w.ports(nil).handler(name)(w.ctx, m)
					s.finished(s.current)
					s.current = 0
					s.logf("drain: %s %s -> %v", name, m.Body, err)
					if err := s.check(); err != nil {
						return err
					}
				}
			}
		}
		if w.pending() == 0 {
			return nil
		}
		w.clock.Advance(15 * time.Minute)
	}
	return fmt.Errorf("system did not drain: %d messages left", w.pending())
}

// final checks the drained system: every job finished; every premium
// user's results are hot with no archive copy left behind; a user who was
// never premium has every result archived.
func (s *schedule) final() error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	premium := map[string]bool{}
	for _, u := range s.users {
		p, err := s.w.accounts.Profile(s.w.ctx, domain.UserID(u))
		if err != nil {
			return err
		}
		premium[u] = p.Premium()
	}
	referenced := map[string]bool{}
	emails := s.emails()
	for _, j := range js {
		if !j.Status().Terminal() {
			return fmt.Errorf("job %s left %s after draining", j.ID(), j.Status())
		}
		if st := j.Status(); (st == domain.StatusCompleted || st == domain.StatusFailed) && (!j.Notified() || emails[j.ID()] == 0) {
			return fmt.Errorf("job %s ended %s but its owner was not told (notified %v, %d e-mails)", j.ID(), st, j.Notified(), emails[j.ID()])
		}
		s.stats.Emails += emails[j.ID()]
		s.stats.Reemails += max(emails[j.ID()]-1, 0)
		switch j.Status() {
		case domain.StatusFailed:
			s.stats.Failed++
		case domain.StatusCompleted:
			s.stats.Completed++
		}
		if j.Status() != domain.StatusCompleted {
			continue
		}
		owner := string(j.Owner())
		switch {
		case j.Storage() == domain.StorageRestoring:
			return fmt.Errorf("job %s still RESTORING after draining", j.ID())
		case premium[owner] && (j.Storage() != domain.StorageAvailable || j.ArchiveID() != ""):
			return fmt.Errorf("premium user %s: job %s ends %s (archive %q)", owner, j.ID(), j.Storage(), j.ArchiveID())
		case !s.ever[owner] && j.Storage() != domain.StorageArchived:
			return fmt.Errorf("free user %s: job %s ends %s, want ARCHIVED", owner, j.ID(), j.Storage())
		}
		if j.Storage() == domain.StorageArchived {
			s.stats.Archived++
			referenced[j.ArchiveID()] = true
		}
		if j.Storage() == domain.StorageAvailable && j.Results().VCF != "" && strings.Contains(j.Results().VCF, "/r") {
			s.stats.Restored++
		}
	}
	// Cold storage holds nothing but the archives jobs point to.
	s.w.archive.mu.Lock()
	defer s.w.archive.mu.Unlock()
	for id := range s.w.archive.live {
		if referenced[id] || slices.ContainsFunc(s.putters[id], func(w int) bool { return s.crashed[w] }) {
			continue
		}
		// The one leak without a crash: an archiver finds the owner
		// upgraded after writing its copy and leaves it (see archiveHot).
		if job, ok := jobs.JobOfArchiveKey("archive/", id); ok {
			if j, err := s.w.jobStore.Get(s.w.ctx, job); err == nil && s.ever[string(j.Owner())] {
				continue
			}
		}
		return fmt.Errorf("orphaned archive copy %s written by healthy workers %v", id, s.putters[id])
	}
	return nil
}
