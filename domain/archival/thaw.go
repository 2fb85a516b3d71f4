package archival

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Thaw restores every archived job of a premium user (restore protocol
// step 1): each gets an Expedited retrieval, or Standard when cold storage
// has no Expedited capacity, recorded as RESTORING with its tier and
// expected time, plus a scheduled restore check. Before listing archived
// jobs it fences archivers still working on the user's hot jobs (see
// fenceArchivers), so none can be archived unseen. Jobs already RESTORING get
// a fresh check whatever the user's plan now, which repairs a crash between
// recording a retrieval and scheduling its check.
func (s *Service) Thaw(ctx context.Context, user domain.UserID) error {
	var errs []error
	restoring, err := s.jobs.ListByStorage(ctx, user, domain.StorageRestoring)
	if err != nil {
		return fmt.Errorf("thaw %s: list restoring jobs: %w", user, err)
	}
	for _, j := range restoring {
		if err := s.scheduleCheck(ctx, j); err != nil {
			errs = append(errs, err)
		}
	}
	premium, err := s.premium(ctx, user)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		s.log.WarnContext(ctx, "thaw: no such user", "user", user)
	case err != nil:
		errs = append(errs, err)
	case !premium:
		s.log.InfoContext(ctx, "thaw: user is no longer premium; archived results stay archived", "user", user)
	default:
		if err := s.fenceArchivers(ctx, user); err != nil {
			return fmt.Errorf("thaw %s: %w", user, err)
		}
		archived, err := s.jobs.ListByStorage(ctx, user, domain.StorageArchived)
		if err != nil {
			return fmt.Errorf("thaw %s: list archived jobs: %w", user, err)
		}
		for _, j := range archived {
			if err := s.startRestore(ctx, j.ID()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("thaw %s: %w", user, err)
	}
	return nil
}

// fenceArchivers rewrites (unchanged) each of the user's hot jobs that
// could still be archived, bumping its version: an archiver that found the
// owner free before the upgrade then fails its conditional record and
// re-reads the owner (see archiveHot). Done before the thaw lists ARCHIVED
// jobs, it leaves no window for a job to be archived and missed.
func (s *Service) fenceArchivers(ctx context.Context, user domain.UserID) error {
	hot, err := s.jobs.ListByStorage(ctx, user, domain.StorageAvailable)
	if err != nil {
		return fmt.Errorf("list hot jobs: %w", err)
	}
	for _, j := range hot {
		if j.ArchiveID() != "" {
			continue
		}
		// The rewrite also forgets the job's archive schedule: a premium
		// user's results are kept, even if they cancel premium later.
		_, err := jobs.Mutate(ctx, s.jobs, j.ID(), func(cur *domain.Job) (bool, error) {
			if cur.Storage() != domain.StorageAvailable || cur.ArchiveID() != "" {
				return false, nil
			}
			cur.KeepResults()
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("fence job %s: %w", j.ID(), err)
		}
	}
	return nil
}

// startRestore initiates the retrieval of one ARCHIVED job, schedules its
// first check and records it, in that order: the check carries the
// retrieval, so if this worker dies before recording it (even after its
// message was handed to another), the check records it (see RestoreCheck).
// For a job already RESTORING it schedules a check again, repairing a lost
// one.
func (s *Service) startRestore(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	switch j.Storage() {
	case domain.StorageRestoring:
		return s.scheduleCheck(ctx, j)
	case domain.StorageArchived:
	default:
		return nil
	}
	r, err := s.initiate(ctx, id, j.ArchiveID())
	if err != nil {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	if err := s.record(ctx, id, r); err != nil && !errors.Is(err, errStale) {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	return nil
}

// initiate starts a retrieval of archiveID, Expedited or Standard when cold
// storage has no Expedited capacity, and schedules its first check before
// anything records it: the check carries the retrieval, so a crash before
// the record cannot leave it unchecked (see RestoreCheck).
func (s *Service) initiate(ctx context.Context, id domain.JobID, archiveID string) (Retrieval, error) {
	started, err := s.archive.InitiateRestore(ctx, archiveID, domain.RetrievalExpedited)
	if errors.Is(err, ports.ErrNoExpeditedCapacity) {
		started, err = s.archive.InitiateRestore(ctx, archiveID, domain.RetrievalStandard)
	}
	if err != nil {
		return Retrieval{}, err
	}
	// The tier recorded is the one running, which a retrieval already in
	// progress (started by an attempt that died) decides.
	now := s.clock.Now()
	r := Retrieval{ID: started.ID, ArchiveID: archiveID, Tier: started.Tier,
		ExpectedBy: now.Add(s.cfg.Policy.ExpectedRestore(started.Tier))}
	if err := message.Schedule(ctx, s.restores, message.RetrievalCheck(id, r.ID, r.ArchiveID, r.Tier, r.ExpectedBy), now); err != nil {
		return Retrieval{}, err
	}
	return r, nil
}

// ThawJob restores one ARCHIVED job of a premium user: the reconciler's
// repair for a job a thaw missed (a listing that lagged behind an archive,
// a thaw request lost). It decides from the job and the owner as they are
// now, never from a listing: a job not ARCHIVED (already restoring, or
// back), or whose owner is not premium, is left alone.
func (s *Service) ThawJob(ctx context.Context, user domain.UserID, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("thaw job %s: %w", id, err)
	}
	if j.Owner() != user || j.Status() != domain.StatusCompleted || j.Storage() != domain.StorageArchived {
		return nil
	}
	premium, err := s.premium(ctx, user)
	if err != nil {
		return fmt.Errorf("thaw job %s: %w", id, err)
	}
	if !premium {
		return nil
	}
	return s.startRestore(ctx, id)
}

// Retrieval is a cold-storage retrieval started for a job, as a restore
// check carries it.
type Retrieval struct {
	ID, ArchiveID string
	Tier          domain.RetrievalTier
	ExpectedBy    time.Time
}

// record notes retrieval r on the job while it is still ARCHIVED under
// r.ArchiveID; errStale if it is not (another retrieval was recorded first).
func (s *Service) record(ctx context.Context, id domain.JobID, r Retrieval) error {
	_, err := jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageArchived || cur.ArchiveID() != r.ArchiveID {
			return false, errStale
		}
		return true, cur.RestoreStarted(r.ID, r.Tier, r.ExpectedBy)
	})
	if err == nil {
		s.log.InfoContext(ctx, "restore started", "job", id, "tier", r.Tier, "expected", r.ExpectedBy)
	}
	return err
}
