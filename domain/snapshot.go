package domain

import (
	"fmt"
	"time"
)

// JobSnapshot is a job's full state as plain data, for stores to persist.
// It is the only way in from outside: JobFromSnapshot validates it.
type JobSnapshot struct {
	ID            JobID         `json:"id"`
	Owner         UserID        `json:"owner"`
	InputName     string        `json:"input_name"`
	Name          string        `json:"name,omitempty"`
	InputKey      string        `json:"input_key"`
	InputSize     int64         `json:"input_size"`
	SubmittedAt   time.Time     `json:"submitted_at"`
	StartedAt     time.Time     `json:"started_at,omitzero"`
	CompletedAt   time.Time     `json:"completed_at,omitzero"`
	LeaseUntil    time.Time     `json:"lease_until,omitzero"`
	Status        Status        `json:"status"`
	Attempts      int           `json:"attempts"`
	FailureReason string        `json:"failure_reason,omitempty"`
	Results       ResultKeys    `json:"results"`
	Storage       Storage       `json:"storage,omitempty"`
	ArchiveID     string        `json:"archive_id,omitempty"`
	RetrievalID   string        `json:"retrieval_id,omitempty"`
	RetrievalTier RetrievalTier `json:"retrieval_tier,omitempty"`
	RestoreBy     time.Time     `json:"restore_by,omitzero"`
	Reference     string        `json:"reference,omitempty"`
	Options       JobOptions    `json:"options,omitzero"`
	Counts        Counts        `json:"counts,omitzero"`
	ArchiveDue    time.Time     `json:"archive_due,omitzero"`
	NoticeUntil   time.Time     `json:"notice_until,omitzero"`
	NotifiedAt    time.Time     `json:"notified_at,omitzero"`
	NoticeError   string        `json:"notice_error,omitempty"`
	// ServiceFailure marks a FAILED job that failed through no fault of its
	// input (see Job.FailedByService).
	ServiceFailure bool  `json:"service_failure,omitempty"`
	Version        int64 `json:"version"`
}

// Snapshot exports the job's state for persistence.
func (j *Job) Snapshot() JobSnapshot {
	return JobSnapshot{
		ID: j.id, Owner: j.owner, InputName: j.inputName, Name: j.name, InputKey: j.inputKey, InputSize: j.inputSize,
		SubmittedAt: j.submittedAt, StartedAt: j.startedAt, CompletedAt: j.completedAt, LeaseUntil: j.leaseUntil,
		Status: j.status, Attempts: j.attempts, FailureReason: j.failure, Results: j.results,
		Storage: j.storage, ArchiveID: j.archiveID, RetrievalID: j.retrieval, RetrievalTier: j.tier,
		RestoreBy: j.restoreBy, Reference: j.reference, Options: j.options, Counts: j.counts, ArchiveDue: j.archiveDue,
		NoticeUntil: j.noticeUntil, NotifiedAt: j.notifiedAt,
		NoticeError: j.noticeError, ServiceFailure: j.serviceFault, Version: j.version,
	}
}

// JobFromSnapshot rebuilds a job from a persisted snapshot, refusing states the
// lifecycle cannot reach so corrupt records surface as errors, not bugs.
func JobFromSnapshot(s JobSnapshot) (*Job, error) {
	if s.ID == "" || s.Owner == "" || s.InputKey == "" {
		return nil, fmt.Errorf("%w: snapshot %q lacks id, owner or input key", ErrInvalidJob, s.ID)
	}
	if !s.Status.valid() || !s.Storage.valid() {
		return nil, fmt.Errorf("%w: job %s has unknown status %q or storage %q", ErrInvalidJob, s.ID, s.Status, s.Storage)
	}
	if (s.Status == StatusCompleted) != (s.Storage != StorageNone) {
		return nil, fmt.Errorf("%w: job %s is %s with storage %q", ErrInvalidJob, s.ID, s.Status, s.Storage)
	}
	if s.Storage == StorageArchived && s.ArchiveID == "" {
		return nil, fmt.Errorf("%w: job %s is archived without an archive id", ErrInvalidJob, s.ID)
	}
	if s.Storage == StorageRestoring && s.RetrievalID == "" {
		return nil, fmt.Errorf("%w: job %s is restoring without a retrieval id", ErrInvalidJob, s.ID)
	}
	if !s.ArchiveDue.IsZero() && (s.Status != StatusCompleted || s.Storage != StorageAvailable) {
		return nil, fmt.Errorf("%w: job %s is %s/%s but has an archive schedule", ErrInvalidJob, s.ID, s.Status, s.Storage)
	}
	if (!s.NotifiedAt.IsZero() || !s.NoticeUntil.IsZero()) && s.Status != StatusCompleted && s.Status != StatusFailed {
		return nil, fmt.Errorf("%w: job %s is %s but has a notice", ErrInvalidJob, s.ID, s.Status)
	}
	if s.NoticeError != "" && s.NotifiedAt.IsZero() {
		return nil, fmt.Errorf("%w: job %s has a notice error but no notice", ErrInvalidJob, s.ID)
	}
	if s.ServiceFailure && s.Status != StatusFailed {
		return nil, fmt.Errorf("%w: job %s is %s but marked as failed by the service", ErrInvalidJob, s.ID, s.Status)
	}
	return &Job{
		id: s.ID, owner: s.Owner, inputName: s.InputName, name: s.Name, inputKey: s.InputKey, inputSize: s.InputSize,
		submittedAt: s.SubmittedAt.UTC(), startedAt: s.StartedAt.UTC(), completedAt: s.CompletedAt.UTC(),
		leaseUntil: s.LeaseUntil.UTC(), status: s.Status, attempts: s.Attempts, failure: s.FailureReason,
		results: s.Results, storage: s.Storage, archiveID: s.ArchiveID, retrieval: s.RetrievalID,
		tier: s.RetrievalTier, restoreBy: s.RestoreBy.UTC(), reference: s.Reference, options: s.Options, counts: s.Counts,
		archiveDue:  s.ArchiveDue.UTC(),
		noticeUntil: s.NoticeUntil.UTC(), notifiedAt: s.NotifiedAt.UTC(), noticeError: s.NoticeError,
		serviceFault: s.ServiceFailure, version: s.Version,
	}, nil
}
