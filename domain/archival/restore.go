package archival

import (
	"context"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// RestoreCheck is a scheduled check of retrieval r of a job: if the job is
// still ARCHIVED under r's archive (the thawer died before recording r),
// it records r first, or starts a new retrieval if cold storage forgot r;
// then it is Restore.
func (s *Service) RestoreCheck(ctx context.Context, id domain.JobID, r Retrieval) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	if r.ID != "" && j.Storage() == domain.StorageArchived && j.ArchiveID() == r.ArchiveID {
		_, err := s.archive.RestoreStatus(ctx, r.ID)
		if errors.Is(err, ports.ErrNotFound) {
			// Forgotten before anyone recorded it: start another.
			s.log.WarnContext(ctx, "unrecorded retrieval forgotten by cold storage; starting a new one", "job", id, "retrieval", r.ID)
			return s.startRestore(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("restore job %s: adopt retrieval %s: %w", id, r.ID, err)
		}
		if err := s.record(ctx, id, r); err != nil && !errors.Is(err, errStale) {
			return fmt.Errorf("restore job %s: adopt retrieval %s: %w", id, r.ID, err)
		}
	}
	return s.Restore(ctx, id)
}

// scheduleCheck queues the polling fallback's first look at a retrieval,
// due when the retrieval is expected to be done.
func (s *Service) scheduleCheck(ctx context.Context, j *domain.Job) error {
	now := s.clock.Now()
	due := j.RestoreExpectedBy()
	if due.Before(now) {
		due = now
	}
	if err := message.Schedule(ctx, s.restores, message.RestoreCheck(j.ID(), due), now); err != nil {
		return fmt.Errorf("job %s: %w", j.ID(), err)
	}
	return nil
}

// Restore finishes a job's retrieval (restore protocol step 2): once cold
// storage has the bytes ready, it writes them back to new hot keys, marks
// the job AVAILABLE with a conditional write, and only then deletes the
// archive copy and forgets its id. While the retrieval runs it returns an
// error wrapping ErrRestorePending. Finding the job already restored, it
// just completes the clean-up. When cold storage has forgotten the
// retrieval (ports.ErrNotFound), it starts a new one (see retryLapsed).
func (s *Service) Restore(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		s.log.WarnContext(ctx, "restore: no such job", "job", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	switch j.Storage() {
	case domain.StorageAvailable:
		if j.ArchiveID() != "" {
			return s.forgetArchive(ctx, j)
		}
		return nil
	case domain.StorageRestoring:
	default:
		return nil
	}
	retrieval := j.RetrievalID()
	st, err := s.archive.RestoreStatus(ctx, retrieval)
	if errors.Is(err, ports.ErrNotFound) {
		return s.retryLapsed(ctx, id, retrieval)
	}
	if err != nil {
		return fmt.Errorf("restore job %s: poll retrieval: %w", id, err)
	}
	if !st.Done {
		return fmt.Errorf("restore job %s: %w", id, ErrRestorePending)
	}
	target := jobs.RestoredKeys(j.Results(), retrieval)
	if err := s.unbundle(ctx, retrieval, target); errors.Is(err, errRetrievalGone) {
		return s.retryLapsed(ctx, id, retrieval)
	} else if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	restored, err := jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		switch {
		case cur.Storage() == domain.StorageAvailable && cur.Results() == target:
			return false, nil // a duplicate delivery finished first
		case cur.Storage() != domain.StorageRestoring || cur.RetrievalID() != retrieval:
			return false, errStale
		}
		return true, cur.RestoredTo(target)
	})
	if errors.Is(err, errStale) {
		if restored == nil || restored.Results().VCF != target.VCF {
			s.deleteQuietly(ctx, target) // written for a retrieval nobody records
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: record restore: %w", id, err)
	}
	s.log.InfoContext(ctx, "job restored", "job", id, "tier", st.Tier)
	return s.forgetArchive(ctx, restored)
}

// retryLapsed replaces a retrieval cold storage has forgotten (it expired
// before the bytes were written back, or was lost): it starts a new one,
// Expedited first, schedules its check, and then moves the job from the
// lapsed retrieval to the new one in one conditional write
// (domain.Job.RestoreLapsed then RestoreStarted), so the job is never seen
// ARCHIVED with nothing left to bring it back. A crash before that write
// leaves the job on the lapsed retrieval, and the redelivery (or the new
// retrieval's check) comes here again; the unrecorded retrieval merely
// expires. If the job moved on meanwhile (restored, or another worker
// replaced the retrieval first), nothing is written.
func (s *Service) retryLapsed(ctx context.Context, id domain.JobID, lapsed string) error {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	if j.Storage() != domain.StorageRestoring || j.RetrievalID() != lapsed {
		return nil
	}
	s.log.WarnContext(ctx, "retrieval forgotten by cold storage; starting a new one", "job", id, "retrieval", lapsed)
	r, err := s.initiate(ctx, id, j.ArchiveID())
	if err != nil {
		return fmt.Errorf("restore job %s: replace lapsed retrieval %s: %w", id, lapsed, err)
	}
	_, err = jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageRestoring || cur.RetrievalID() != lapsed || cur.ArchiveID() != r.ArchiveID {
			return false, errStale
		}
		if err := cur.RestoreLapsed(); err != nil {
			return false, err
		}
		return true, cur.RestoreStarted(r.ID, r.Tier, r.ExpectedBy)
	})
	if errors.Is(err, errStale) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: record retrieval %s replacing %s: %w", id, r.ID, lapsed, err)
	}
	s.log.InfoContext(ctx, "restore started again", "job", id, "tier", r.Tier, "expected", r.ExpectedBy)
	return nil
}

// forgetArchive deletes the archive copy of a restored job, then clears its
// id. Two deliveries may restore one job at once (a completion notice and
// a polling check): the one that loses the record reads the job back from
// the winner, whose clean-up may already have forgotten the copy — then
// there is nothing left to do, and it must not try to forget "no copy".
func (s *Service) forgetArchive(ctx context.Context, j *domain.Job) error {
	archiveID := j.ArchiveID()
	if archiveID == "" {
		return nil
	}
	if err := s.archive.Delete(ctx, archiveID); err != nil {
		return fmt.Errorf("restore job %s: delete archive copy: %w", j.ID(), err)
	}
	_, err := jobs.Mutate(ctx, s.jobs, j.ID(), func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageAvailable || cur.ArchiveID() != archiveID {
			return false, nil
		}
		return true, cur.ArchiveDeleted()
	})
	if err != nil {
		return fmt.Errorf("restore job %s: forget archive copy: %w", j.ID(), err)
	}
	return nil
}

// unbundle writes a completed retrieval's bundle back to the target keys
// (ports.Bundler verifies sizes and checksums).
func (s *Service) unbundle(ctx context.Context, retrieval string, target domain.ResultKeys) error {
	rc, err := s.archive.OpenRestored(ctx, retrieval)
	if errors.Is(err, ports.ErrNotFound) {
		return fmt.Errorf("open retrieval %s: %w: %w", retrieval, errRetrievalGone, err)
	}
	if err != nil {
		return fmt.Errorf("open retrieval %s: %w", retrieval, err)
	}
	defer rc.Close()
	if err := s.bundler.Unbundle(ctx, rc, target); err != nil {
		return fmt.Errorf("retrieval %s: %w", retrieval, err)
	}
	return nil
}
