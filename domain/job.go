// Package domain is the pure core of GAS: jobs and their state machines, user
// profiles, tier policy and the annotation summary. It performs no I/O and
// imports only the standard library, so every other package (adapters,
// services, other Go programs) can depend on it without dragging anything in.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// JobID names a job everywhere: in stores, queues, object keys and URLs.
type JobID string

// UserID is the stable identity-provider subject of a user, so profiles
// survive changes of name or e-mail.
type UserID string

// Status is where a job is in its lifecycle; transitions are only possible
// through Job's methods so an illegal one cannot be written by accident.
type Status string

// The job lifecycle of ARCHITECTURE.md.
const (
	StatusPending   Status = "PENDING"
	StatusRunning   Status = "RUNNING"
	StatusCompleted Status = "COMPLETED"
	StatusFailed    Status = "FAILED"
	StatusCancelled Status = "CANCELLED"
)

// Terminal reports whether no further lifecycle transition can happen, so
// callers know a redelivered request for the job is finished business.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

func (s Status) valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusCompleted, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

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

// Errors returned by Job's transitions. Services match them with errors.Is
// to tell a redelivered (already done) step from a genuine conflict.
var (
	// ErrIllegalTransition is wrapped by every refused transition.
	ErrIllegalTransition = errors.New("illegal job transition")
	// ErrLeaseHeld means another worker holds an unexpired lease on the job.
	ErrLeaseHeld = errors.New("job is running under another worker's lease")
	// ErrAttemptsExhausted means the job may not be tried again.
	ErrAttemptsExhausted = errors.New("job has used all its attempts")
	// ErrInvalidJob is wrapped when a job would be constructed from invalid values.
	ErrInvalidJob = errors.New("invalid job")
	// ErrAlreadyNotified means the owner was already told the job finished,
	// so a redelivered result event must not e-mail them again.
	ErrAlreadyNotified = errors.New("owner already notified")
	// ErrNoticeHeld means another notifier is telling the owner right now;
	// the caller looks again when its hold lapses (see NoticeHeldUntil).
	ErrNoticeHeld = errors.New("owner is being notified by another worker")
)

// TransitionError says which transition was refused and from which state,
// so logs and tests can tell a stale redelivery from a bug.
type TransitionError struct {
	Job     JobID
	Action  string
	Status  Status
	Storage Storage
}

func (e *TransitionError) Error() string {
	if e.Storage != StorageNone {
		return fmt.Sprintf("job %s: cannot %s while %s/%s", e.Job, e.Action, e.Status, e.Storage)
	}
	return fmt.Sprintf("job %s: cannot %s while %s", e.Job, e.Action, e.Status)
}

// Is makes every TransitionError match ErrIllegalTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// ResultKeys are the object-storage keys of a completed job's outputs, kept
// on the job so readers never have to guess a layout that may change.
type ResultKeys struct {
	VCF     string // annotated VCF (the result users download)
	Index   string // variant table index for server-side paging
	Summary string // summary JSON for the charts
	Log     string // readable summary log
}

// Job is one annotation request and everything known about it. Its fields
// are unexported: state changes only through methods that enforce the
// lifecycle, so stores and handlers cannot produce an impossible job.
type Job struct {
	id          JobID
	owner       UserID
	inputName   string
	inputKey    string
	inputSize   int64
	submittedAt time.Time
	startedAt   time.Time
	completedAt time.Time
	leaseUntil  time.Time
	status      Status
	attempts    int
	failure     string
	results     ResultKeys
	storage     Storage
	archiveID   string
	retrieval   string
	tier        RetrievalTier
	restoreBy   time.Time
	reference   string
	noticeUntil time.Time
	notifiedAt  time.Time
	version     int64
}

// NewJob makes a PENDING job for an uploaded input. It refuses values that
// would make a job impossible to run or to show.
func NewJob(id JobID, owner UserID, inputName, inputKey string, inputSize int64, submittedAt time.Time) (*Job, error) {
	switch {
	case id == "":
		return nil, fmt.Errorf("%w: empty job id", ErrInvalidJob)
	case owner == "":
		return nil, fmt.Errorf("%w: job %s has no owner", ErrInvalidJob, id)
	case inputKey == "":
		return nil, fmt.Errorf("%w: job %s has no input object key", ErrInvalidJob, id)
	case inputSize < 0:
		return nil, fmt.Errorf("%w: job %s has negative input size", ErrInvalidJob, id)
	case submittedAt.IsZero():
		return nil, fmt.Errorf("%w: job %s has no submission time", ErrInvalidJob, id)
	}
	if err := ValidateInputName(inputName); err != nil {
		return nil, err
	}
	return &Job{
		id: id, owner: owner, inputName: inputName, inputKey: inputKey, inputSize: inputSize,
		submittedAt: submittedAt.UTC(), status: StatusPending,
	}, nil
}

// ErrNotVCF is returned for an input whose name says it is not a VCF, so the
// user hears about it at upload rather than from a failed job.
var ErrNotVCF = errors.New("input is not a VCF file")

// ErrInvalidInputName is returned for names that cannot be stored or shown safely.
var ErrInvalidInputName = errors.New("invalid input file name")

// ValidateInputName accepts the names GAS can annotate: .vcf, .vcf.gz and .vcf.bgz.
func ValidateInputName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the file has no name", ErrInvalidInputName)
	}
	if len(name) > 255 {
		return fmt.Errorf("%w: the name is longer than 255 characters", ErrInvalidInputName)
	}
	if strings.ContainsAny(name, "/\\\x00") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %q contains path separators or control characters", ErrInvalidInputName, name)
	}
	lower := strings.ToLower(name)
	for _, ext := range []string{".vcf", ".vcf.gz", ".vcf.bgz"} {
		if strings.HasSuffix(lower, ext) && len(lower) > len(ext) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q must end in .vcf, .vcf.gz or .vcf.bgz", ErrNotVCF, name)
}

func (j *Job) refuse(action string) error {
	return &TransitionError{Job: j.id, Action: action, Status: j.status, Storage: j.storage}
}

// Claim starts a run under a lease: PENDING becomes RUNNING, or a RUNNING job
// whose lease has expired (its worker died) is taken over. It is refused when
// another worker's lease is live, so two workers never run a job at once.
//
// Every claim of a job gets a start time strictly later than the previous
// one (a clock that did not move is nudged by a nanosecond), so StartedAt
// names the claim: RunningUnder tells a worker whether a job it re-reads is
// still running under its own claim.
func (j *Job) Claim(now time.Time, lease time.Duration, maxAttempts int) error {
	switch j.status {
	case StatusPending:
	case StatusRunning:
		if now.Before(j.leaseUntil) {
			return fmt.Errorf("claim job %s: %w (until %s)", j.id, ErrLeaseHeld, j.leaseUntil.Format(time.RFC3339))
		}
	default:
		return j.refuse("claim")
	}
	if j.attempts >= maxAttempts {
		return fmt.Errorf("claim job %s: %w (%d of %d)", j.id, ErrAttemptsExhausted, j.attempts, maxAttempts)
	}
	start := now.UTC()
	if !start.After(j.startedAt) {
		start = j.startedAt.Add(time.Nanosecond)
	}
	j.status = StatusRunning
	j.attempts++
	j.startedAt = start
	j.leaseUntil = now.UTC().Add(lease)
	return nil
}

// RunningUnder reports whether j is still RUNNING under the claim that
// produced claim (an earlier copy of the same job, taken at or after that
// claim). Only the claiming worker writes a job while its claim stands:
// anyone else changes it by a new claim (a later StartedAt) or by leaving
// RUNNING. So a worker whose conditional write conflicted because one of
// its own earlier writes landed though it reported failure (a timeout, a
// cancelled request) can recognise the job as still its own and go on,
// while a worker whose claim was taken over can not.
func (j *Job) RunningUnder(claim *Job) bool {
	return claim != nil && j.id == claim.id && j.status == StatusRunning && claim.status == StatusRunning &&
		j.attempts == claim.attempts && j.startedAt.Equal(claim.startedAt)
}

// ExtendLease keeps a long annotation's claim alive; it is refused once the
// job has left RUNNING, which tells the worker to stop.
func (j *Job) ExtendLease(now time.Time, lease time.Duration) error {
	if j.status != StatusRunning {
		return j.refuse("extend lease")
	}
	j.leaseUntil = now.UTC().Add(lease)
	return nil
}

// Release gives a RUNNING job back to PENDING without charging the attempt,
// because the worker is shutting down rather than failing.
func (j *Job) Release() error {
	if j.status != StatusRunning {
		return j.refuse("release")
	}
	j.status = StatusPending
	j.leaseUntil = time.Time{}
	if j.attempts > 0 {
		j.attempts--
	}
	return nil
}

// Complete records a successful run and where its results are.
func (j *Job) Complete(now time.Time, results ResultKeys, reference string) error {
	if j.status != StatusRunning {
		return j.refuse("complete")
	}
	if results.VCF == "" {
		return fmt.Errorf("%w: job %s completed without a result key", ErrInvalidJob, j.id)
	}
	j.status = StatusCompleted
	j.completedAt = now.UTC()
	j.leaseUntil = time.Time{}
	j.results = results
	j.reference = reference
	j.storage = StorageAvailable
	j.failure = ""
	return nil
}

// Fail records a failed run. A retryable failure returns the job to PENDING
// while attempts remain; a permanent one (bad input) or the last attempt
// makes it FAILED. It reports whether the job will be retried.
func (j *Job) Fail(now time.Time, reason string, permanent bool, maxAttempts int) (retry bool, err error) {
	if j.status != StatusRunning {
		return false, j.refuse("fail")
	}
	j.failure = reason
	j.leaseUntil = time.Time{}
	if !permanent && j.attempts < maxAttempts {
		j.status = StatusPending
		return true, nil
	}
	j.status = StatusFailed
	j.completedAt = now.UTC()
	return false, nil
}

// Abandon makes a PENDING or RUNNING job FAILED with a reason, for requests
// that landed in a dead-letter queue: the user must see why, never silence.
func (j *Job) Abandon(now time.Time, reason string) error {
	if j.status != StatusPending && j.status != StatusRunning {
		return j.refuse("abandon")
	}
	j.status = StatusFailed
	j.failure = reason
	j.leaseUntil = time.Time{}
	j.completedAt = now.UTC()
	return nil
}

// Cancel withdraws a job that has not started.
func (j *Job) Cancel(now time.Time) error {
	if j.status != StatusPending {
		return j.refuse("cancel")
	}
	j.status = StatusCancelled
	j.completedAt = now.UTC()
	return nil
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

// BeginNotice takes a hold on telling the owner that a COMPLETED or FAILED
// job finished, until now+hold. Written with a conditional write before the
// e-mail is sent, it lets only one of several concurrent deliveries of the
// result event send it: the others get ErrNoticeHeld and look again after
// the hold. ErrAlreadyNotified once NoticeSent was recorded. A hold that
// lapsed (its notifier died) may be taken again, so a notice is never lost;
// the price is a second e-mail when a notifier died after sending but
// before recording it.
func (j *Job) BeginNotice(now time.Time, hold time.Duration) error {
	if j.status != StatusCompleted && j.status != StatusFailed {
		return j.refuse("notify")
	}
	if !j.notifiedAt.IsZero() {
		return fmt.Errorf("notify job %s: %w (at %s)", j.id, ErrAlreadyNotified, j.notifiedAt.Format(time.RFC3339))
	}
	if now.Before(j.noticeUntil) {
		return fmt.Errorf("notify job %s: %w (until %s)", j.id, ErrNoticeHeld, j.noticeUntil.Format(time.RFC3339))
	}
	j.noticeUntil = now.UTC().Add(hold)
	return nil
}

// ReleaseNotice gives up a hold taken by BeginNotice when the e-mail could
// not be sent, so the retry need not wait for the hold to lapse.
// ErrAlreadyNotified if the notice was recorded meanwhile.
func (j *Job) ReleaseNotice() error {
	if j.status != StatusCompleted && j.status != StatusFailed {
		return j.refuse("release notice")
	}
	if !j.notifiedAt.IsZero() {
		return fmt.Errorf("release notice of job %s: %w", j.id, ErrAlreadyNotified)
	}
	j.noticeUntil = time.Time{}
	return nil
}

// NoticeSent records that the owner was told (or could not be, having no
// address), so redelivered result events and duplicate job requests do not
// tell them again. ErrAlreadyNotified if it was recorded before.
func (j *Job) NoticeSent(now time.Time) error {
	if j.status != StatusCompleted && j.status != StatusFailed {
		return j.refuse("record notice")
	}
	if !j.notifiedAt.IsZero() {
		return fmt.Errorf("record notice of job %s: %w", j.id, ErrAlreadyNotified)
	}
	j.notifiedAt = now.UTC()
	j.noticeUntil = time.Time{}
	return nil
}

// ID identifies the job.
func (j *Job) ID() JobID { return j.id }

// Owner is the only user who may see the job.
func (j *Job) Owner() UserID { return j.owner }

// InputName is the file name the user uploaded, shown back to them.
func (j *Job) InputName() string { return j.inputName }

// InputKey is where the uploaded VCF is stored.
func (j *Job) InputKey() string { return j.inputKey }

// InputSize is the uploaded file's size in bytes.
func (j *Job) InputSize() int64 { return j.inputSize }

// SubmittedAt orders a user's jobs, newest first.
func (j *Job) SubmittedAt() time.Time { return j.submittedAt }

// StartedAt is when the current or last run began.
func (j *Job) StartedAt() time.Time { return j.startedAt }

// CompletedAt is when the job reached a terminal status; the free download
// window counts from it.
func (j *Job) CompletedAt() time.Time { return j.completedAt }

// LeaseUntil is when a RUNNING job's claim lapses if not extended.
func (j *Job) LeaseUntil() time.Time { return j.leaseUntil }

// Status is the lifecycle state.
func (j *Job) Status() Status { return j.status }

// Attempts counts the runs charged so far, bounding retries.
func (j *Job) Attempts() int { return j.attempts }

// FailureReason says in plain words why the job failed (or last failed).
func (j *Job) FailureReason() string { return j.failure }

// Results are the result object keys of a COMPLETED job.
func (j *Job) Results() ResultKeys { return j.results }

// Storage is where a COMPLETED job's results are.
func (j *Job) Storage() Storage { return j.storage }

// ArchiveID names the cold-storage copy, while there is one.
func (j *Job) ArchiveID() string { return j.archiveID }

// RetrievalID names the cold-storage retrieval in flight.
func (j *Job) RetrievalID() string { return j.retrieval }

// RetrievalTier is the tier of the retrieval in flight.
func (j *Job) RetrievalTier() RetrievalTier { return j.tier }

// RestoreExpectedBy is when the retrieval in flight should finish.
func (j *Job) RestoreExpectedBy() time.Time { return j.restoreBy }

// Reference names the annotation database the job was annotated against.
func (j *Job) Reference() string { return j.reference }

// Notified reports whether the owner was told the job finished; the runner
// does not announce such a job again.
func (j *Job) Notified() bool { return !j.notifiedAt.IsZero() }

// NotifiedAt is when the owner was told (zero if not yet).
func (j *Job) NotifiedAt() time.Time { return j.notifiedAt }

// NoticeHeldUntil is when a notifier's hold on telling the owner lapses.
func (j *Job) NoticeHeldUntil() time.Time { return j.noticeUntil }

// Version is the optimistic-concurrency version stores compare on update.
func (j *Job) Version() int64 { return j.version }

// JobSnapshot is a job's full state as plain data, for stores to persist.
// It is the only way in from outside: JobFromSnapshot validates it.
type JobSnapshot struct {
	ID            JobID         `json:"id"`
	Owner         UserID        `json:"owner"`
	InputName     string        `json:"input_name"`
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
	NoticeUntil   time.Time     `json:"notice_until,omitzero"`
	NotifiedAt    time.Time     `json:"notified_at,omitzero"`
	Version       int64         `json:"version"`
}

// Snapshot exports the job's state for persistence.
func (j *Job) Snapshot() JobSnapshot {
	return JobSnapshot{
		ID: j.id, Owner: j.owner, InputName: j.inputName, InputKey: j.inputKey, InputSize: j.inputSize,
		SubmittedAt: j.submittedAt, StartedAt: j.startedAt, CompletedAt: j.completedAt, LeaseUntil: j.leaseUntil,
		Status: j.status, Attempts: j.attempts, FailureReason: j.failure, Results: j.results,
		Storage: j.storage, ArchiveID: j.archiveID, RetrievalID: j.retrieval, RetrievalTier: j.tier,
		RestoreBy: j.restoreBy, Reference: j.reference, NoticeUntil: j.noticeUntil, NotifiedAt: j.notifiedAt,
		Version: j.version,
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
	if (!s.NotifiedAt.IsZero() || !s.NoticeUntil.IsZero()) && s.Status != StatusCompleted && s.Status != StatusFailed {
		return nil, fmt.Errorf("%w: job %s is %s but has a notice", ErrInvalidJob, s.ID, s.Status)
	}
	return &Job{
		id: s.ID, owner: s.Owner, inputName: s.InputName, inputKey: s.InputKey, inputSize: s.InputSize,
		submittedAt: s.SubmittedAt.UTC(), startedAt: s.StartedAt.UTC(), completedAt: s.CompletedAt.UTC(),
		leaseUntil: s.LeaseUntil.UTC(), status: s.Status, attempts: s.Attempts, failure: s.FailureReason,
		results: s.Results, storage: s.Storage, archiveID: s.ArchiveID, retrieval: s.RetrievalID,
		tier: s.RetrievalTier, restoreBy: s.RestoreBy.UTC(), reference: s.Reference,
		noticeUntil: s.NoticeUntil.UTC(), notifiedAt: s.NotifiedAt.UTC(), version: s.Version,
	}, nil
}
