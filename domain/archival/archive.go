package archival

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// Archive moves a free user's job results to cold storage (ARCHITECTURE.md,
// archive protocol steps 2-4). It skips a job that is not hot, or whose
// owner is premium now; writes the bundle under a key derived from the job;
// records the archive id and ARCHIVED with a conditional write; only then
// deletes the hot VCF and index (summary and log stay hot for the page);
// and finally re-reads the owner, starting a restore at once if they
// upgraded meanwhile. A redelivery finding the job already ARCHIVED repeats
// the last two steps, which a crash may have cut short.
func (s *Service) Archive(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		s.log.WarnContext(ctx, "archive: no such job", "job", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive job %s: %w", id, err)
	}
	if j.Status() != domain.StatusCompleted {
		return nil
	}
	switch {
	case j.Storage() == domain.StorageAvailable && j.ArchiveID() == "":
		if j.ArchiveDue().IsZero() {
			return nil // kept: completed while premium, or restored
		}
		premium, err := s.premium(ctx, j.Owner())
		if err != nil {
			return fmt.Errorf("archive job %s: %w", id, err)
		}
		if premium {
			// Upgraded while the job ran or waited: keep it hot, for good.
			return s.keep(ctx, id)
		}
		if j, err = s.archiveHot(ctx, j); err != nil || j == nil {
			return err
		}
	case j.Storage() == domain.StorageArchived || j.Storage() == domain.StorageRestoring:
	default:
		return nil // restored: nothing hot to archive
	}
	// The archive id is durable: the hot copy may go. Even if a restore
	// started meanwhile, it writes to new keys, so this cannot hit it.
	if err := s.deleteHot(ctx, j.Results()); err != nil {
		return fmt.Errorf("archive job %s: %w", id, err)
	}
	if j.Storage() == domain.StorageRestoring {
		// A redelivery after the restore below was recorded: make sure its
		// check is scheduled (a crash may have come between).
		return s.startRestore(ctx, id)
	}
	premium, err := s.premium(ctx, j.Owner())
	if err != nil {
		return fmt.Errorf("archive job %s: re-read owner: %w", id, err)
	}
	if premium {
		if err := s.startRestore(ctx, id); err != nil {
			return fmt.Errorf("archive job %s: owner upgraded meanwhile: %w", id, err)
		}
	}
	return nil
}

// archiveHot writes the bundle and records it, returning the job as
// ARCHIVED with the archived keys, or nil when the job moved on meanwhile.
// j must have been read before the owner was found free: the record is
// conditional on j's version, and a thaw bumps the versions of an upgraded
// user's hot jobs, so an archiver that checked the owner before an upgrade
// cannot record its copy after the thaw looked for archived jobs. On a
// conflict it reloads the job and checks the owner again.
func (s *Service) archiveHot(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	id, keys := j.ID(), j.Results()
	archiveID, err := s.putBundle(ctx, jobs.ArchiveKey(s.cfg.ArchivePrefix, j), keys)
	if err != nil {
		return nil, fmt.Errorf("archive job %s: %w", id, err)
	}
	cur := j
	for range jobs.MaxConflictRetries {
		switch {
		case cur.Storage() == domain.StorageArchived && cur.Results() == keys:
			s.dropOrphan(ctx, id, archiveID, cur) // a duplicate delivery recorded it first
			return cur, nil
		case cur.Storage() != domain.StorageAvailable || cur.Results() != keys || cur.ArchiveID() != "":
			s.dropOrphan(ctx, id, archiveID, cur) // restored, or changed entirely
			return nil, nil
		case cur.ArchiveDue().IsZero():
			// Kept for good (the owner upgraded: the thaw forgot the
			// schedule): no archiver records a copy of it any more.
			s.dropOrphan(ctx, id, archiveID, cur)
			return nil, nil
		}
		next := jobs.Clone(cur)
		if err := next.Archived(archiveID); err != nil {
			return nil, fmt.Errorf("archive job %s: %w", id, err)
		}
		recorded, err := s.jobs.Update(ctx, next)
		if err == nil {
			s.log.InfoContext(ctx, "job archived", "job", id, "archive", archiveID)
			return recorded, nil
		}
		if !errors.Is(err, ports.ErrConflict) {
			return nil, fmt.Errorf("archive job %s: record archive: %w", id, err)
		}
		if cur, err = s.jobs.Get(ctx, id); err != nil {
			return nil, fmt.Errorf("archive job %s: reload: %w", id, err)
		}
		if cur.Storage() == domain.StorageAvailable && cur.ArchiveID() == "" {
			premium, err := s.premium(ctx, cur.Owner())
			if err != nil {
				return nil, fmt.Errorf("archive job %s: %w", id, err)
			}
			if premium {
				// Upgraded while we archived: keep the results hot. The copy
				// stays in cold storage: with key-derived ids another
				// delivery may be about to record this very key after a
				// downgrade, so deleting it could lose the results. A later
				// archive of the same results overwrites and records it.
				s.log.InfoContext(ctx, "archive abandoned: owner upgraded meanwhile", "job", id, "archive", archiveID)
				return nil, nil
			}
		}
	}
	return nil, fmt.Errorf("archive job %s: record archive: still conflicting: %w", id, ports.ErrConflict)
}

// keep forgets the archive schedule of a hot job whose owner is premium,
// so the results stay hot if they later cancel premium, as the plan page
// promises.
func (s *Service) keep(ctx context.Context, id domain.JobID) error {
	_, err := jobs.Mutate(ctx, s.jobs, id, func(j *domain.Job) (bool, error) { return j.KeepResults(), nil })
	if err != nil {
		return fmt.Errorf("keep job %s hot: %w", id, err)
	}
	return nil
}

// dropOrphan deletes an archive copy the job does not reference and never
// will: the job recorded a different copy of the same results, or its
// results moved to other keys (a restore), so no archiver can record this
// copy any more. (Deleting a copy some archiver might still record would
// lose results once it deletes the hot copy.)
func (s *Service) dropOrphan(ctx context.Context, id domain.JobID, archiveID string, cur *domain.Job) {
	if cur != nil && cur.ArchiveID() == archiveID {
		return
	}
	if err := s.archive.Delete(ctx, archiveID); err != nil {
		s.log.WarnContext(ctx, "could not delete orphaned archive copy", "job", id, "archive", archiveID, "err", err)
	}
}

// putBundle streams the result VCF and index into cold storage as one
// bundle, nothing buffered whole, and returns the archive id.
func (s *Service) putBundle(ctx context.Context, key string, keys domain.ResultKeys) (string, error) {
	rc, err := s.bundler.Bundle(ctx, keys)
	if err != nil {
		return "", fmt.Errorf("bundle %s: %w", key, err)
	}
	defer rc.Close()
	src := &readErr{r: rc}
	archiveID, err := s.archive.Put(ctx, key, src)
	switch {
	case err != nil:
		return "", fmt.Errorf("put bundle %s: %w", key, err)
	case src.err != nil: // Put claims success on a stream that failed: refuse it
		return "", fmt.Errorf("put bundle %s: %w", key, src.err)
	case archiveID == "":
		return "", fmt.Errorf("put bundle %s: cold storage returned no archive id", key)
	}
	return archiveID, nil
}

// readErr remembers the first error its reader returned, so a cold store
// that swallowed it cannot record a truncated bundle.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}
