package domain

import (
	"fmt"
	"time"
)

// Storage is where a completed job's results live, tracked apart from Status
// because archiving and restoring happen long after the job finished.
type Storage string

// The results storage states of ARCHITECTURE.md; the zero value means the
// job has no results yet.
const (
	StorageNone      Storage = ""
	StorageAvailable Storage = "AVAILABLE"
	StorageArchived  Storage = "ARCHIVED"
	StorageRestoring Storage = "RESTORING"
)

func (s Storage) valid() bool {
	switch s {
	case StorageNone, StorageAvailable, StorageArchived, StorageRestoring:
		return true
	}
	return false
}

// RetrievalTier is the cold-storage retrieval speed asked for; users are
// told which one their restore got because it sets how long they wait.
type RetrievalTier string

// Retrieval tiers, fastest first.
const (
	TierNone           RetrievalTier = ""
	RetrievalExpedited RetrievalTier = "Expedited"
	RetrievalStandard  RetrievalTier = "Standard"
)

// ScheduleArchive records that a hot result is to be archived at due (its
// owner was free when it completed). Refused unless the results are hot.
func (j *Job) ScheduleArchive(due time.Time) error {
	if j.status != StatusCompleted || j.storage != StorageAvailable || j.archiveID != "" {
		return j.refuse("schedule archive")
	}
	if due.IsZero() {
		return fmt.Errorf("%w: job %s archive scheduled at no time", ErrInvalidJob, j.id)
	}
	j.archiveDue = due.UTC()
	return nil
}

// KeepResults forgets the archive schedule: the owner is premium, so the
// results stay hot whatever plan they choose later ("results you already
// have stay where they are"). It reports whether there was a schedule.
func (j *Job) KeepResults() bool {
	had := !j.archiveDue.IsZero()
	j.archiveDue = time.Time{}
	return had
}

// Archived records that the results are durably in cold storage under
// archiveID. Only after this is saved may the hot copy be deleted. It is
// refused while an earlier archive copy is still recorded (a restore not yet
// cleaned up), which would otherwise orphan that copy.
func (j *Job) Archived(archiveID string) error {
	if j.status != StatusCompleted || j.storage != StorageAvailable || j.archiveID != "" {
		return j.refuse("archive")
	}
	if archiveID == "" {
		return fmt.Errorf("%w: job %s archived without an archive id", ErrInvalidJob, j.id)
	}
	j.storage = StorageArchived
	j.archiveID = archiveID
	j.archiveDue = time.Time{}
	return nil
}

// RestoreStarted records a cold-storage retrieval in flight, with its tier and
// when it is expected, so the user can be told how long to wait.
func (j *Job) RestoreStarted(retrievalID string, tier RetrievalTier, expectedBy time.Time) error {
	if j.status != StatusCompleted || j.storage != StorageArchived {
		return j.refuse("start restore")
	}
	if retrievalID == "" || (tier != RetrievalExpedited && tier != RetrievalStandard) {
		return fmt.Errorf("%w: job %s restore needs a retrieval id and tier", ErrInvalidJob, j.id)
	}
	j.storage = StorageRestoring
	j.retrieval = retrievalID
	j.tier = tier
	j.restoreBy = expectedBy.UTC()
	return nil
}

// RestoreLapsed returns a RESTORING job to ARCHIVED when cold storage no
// longer knows its retrieval (the restored copy expired before it was
// written back, or the retrieval was lost), so a new retrieval can be
// started instead of waiting forever for one that will never finish. The
// archive copy is untouched: the results are still there.
func (j *Job) RestoreLapsed() error {
	if j.status != StatusCompleted || j.storage != StorageRestoring {
		return j.refuse("lapse restore")
	}
	j.storage = StorageArchived
	j.retrieval = ""
	j.tier = TierNone
	j.restoreBy = time.Time{}
	return nil
}

// Restored marks the results hot again. The archive id is kept until
// ArchiveDeleted, so a crash before the archive copy is deleted is repaired
// on redelivery instead of orphaning it.
func (j *Job) Restored() error { return j.RestoredTo(j.results) }

// RestoredTo is Restored for bytes written back under new keys. Restoring to
// fresh keys means a slow archiver still deleting the old hot copy can never
// destroy the restored one.
func (j *Job) RestoredTo(results ResultKeys) error {
	if j.status != StatusCompleted || j.storage != StorageRestoring {
		return j.refuse("finish restore")
	}
	if results.VCF == "" {
		return fmt.Errorf("%w: job %s restored without a result key", ErrInvalidJob, j.id)
	}
	j.results = results
	j.storage = StorageAvailable
	j.retrieval = ""
	j.tier = TierNone
	j.restoreBy = time.Time{}
	return nil
}

// ArchiveDeleted forgets the archive copy once it is gone from cold storage.
func (j *Job) ArchiveDeleted() error {
	if j.storage != StorageAvailable || j.archiveID == "" {
		return j.refuse("forget archive")
	}
	j.archiveID = ""
	return nil
}

// RestoreOverdue reports whether a RESTORING job's retrieval should have
// finished by now: its owner may then ask for it to be checked again.
func (j *Job) RestoreOverdue(now time.Time) bool {
	return j.status == StatusCompleted && j.storage == StorageRestoring && now.After(j.restoreBy)
}
