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
	name        string
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
	options     JobOptions
	counts      Counts
	archiveDue  time.Time
	noticeUntil time.Time
	notifiedAt  time.Time
	noticeError string
	// serviceFault marks a FAILED job that failed through no fault of its
	// input (dead-lettered, interrupted too often), which its owner may retry.
	serviceFault bool
	version      int64
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
	if strings.ContainsFunc(name, bidiControl) {
		// "evil\u202Efcv.exe" shows as "evilexe.vcf": the name would lie
		// on every page, e-mail and download that shows it.
		return fmt.Errorf("%w: %q contains Unicode direction controls, which make a name display as something else", ErrInvalidInputName, name)
	}
	lower := strings.ToLower(name)
	for _, ext := range []string{".vcf", ".vcf.gz", ".vcf.bgz"} {
		if strings.HasSuffix(lower, ext) && len(lower) > len(ext) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q must end in .vcf, .vcf.gz or .vcf.bgz", ErrNotVCF, name)
}

// bidiControl reports the Unicode bidirectional embedding, override and
// isolate controls (U+202A–U+202E, U+2066–U+2069).
func bidiControl(r rune) bool { return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) }

func (j *Job) refuse(action string) error {
	return &TransitionError{Job: j.id, Action: action, Status: j.status, Storage: j.storage}
}

// ID identifies the job.
func (j *Job) ID() JobID { return j.id }

// Owner is the only user who may see the job.
func (j *Job) Owner() UserID { return j.owner }

// InputName is the file name the user uploaded, shown back to them.
func (j *Job) InputName() string { return j.inputName }

// Name is what the owner calls the job: the name they gave it (Rename),
// or its input's file name.
func (j *Job) Name() string {
	if j.name != "" {
		return j.name
	}
	return j.inputName
}

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

// Reference names the annotation database the job was annotated against
// (set at completion; Options().Reference is what was asked for).
func (j *Job) Reference() string { return j.reference }

// JobOptions are what the submitter chose beyond the file.
type JobOptions struct {
	// Reference names the annotation database to annotate against; ""
	// is the deployment's default (its first).
	Reference string `json:"reference,omitempty"`
	// SkipMalformed drops malformed VCF lines (counted, the first reasons
	// listed in the log) instead of failing the job at the first one.
	SkipMalformed bool `json:"skip_malformed,omitempty"`
}

// Options are the submitter's choices.
func (j *Job) Options() JobOptions { return j.options }

// Choose records the submitter's choices. They say how the job is to be
// run, so only a job that never started may change them.
func (j *Job) Choose(o JobOptions) error {
	if j.status != StatusPending || j.attempts > 0 {
		return j.refuse("choose options")
	}
	if len(o.Reference) > 200 || strings.ContainsFunc(o.Reference, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: job %s: reference name %q", ErrInvalidJob, j.id, o.Reference)
	}
	j.options = o
	return nil
}

// Notified reports whether the owner was told the job finished; the runner
// does not announce such a job again.
func (j *Job) Notified() bool { return !j.notifiedAt.IsZero() }

// NotifiedAt is when the owner was told (zero if not yet).
func (j *Job) NotifiedAt() time.Time { return j.notifiedAt }

// NoticeError is why the owner could not be told (the mail service
// refused the address for good); "" when they were told or not yet.
func (j *Job) NoticeError() string { return j.noticeError }

// FailedByService reports whether a FAILED job failed through no fault of
// its input (its request dead-lettered, its runs interrupted too often), so
// the owner may retry it as it is.
func (j *Job) FailedByService() bool { return j.status == StatusFailed && j.serviceFault }

// NoticeHeldUntil is when a notifier's hold on telling the owner lapses.
func (j *Job) NoticeHeldUntil() time.Time { return j.noticeUntil }

// Counts are a completed job's headline numbers (zero before completion).
func (j *Job) Counts() Counts { return j.counts }

// ArchiveDue is when the job's hot results are to move to cold storage,
// recorded at completion for a free owner (ScheduleArchive); zero when
// they are kept. It is the one archive schedule: the archiver, the job
// page, the e-mail and the plan page's promise all go by it (ArchivesAt).
func (j *Job) ArchiveDue() time.Time { return j.archiveDue }

// ArchivesAt is when j's results will be archived for owner as things
// stand: its ArchiveDue while they are hot and the owner is free, zero
// when they are kept (the owner is premium now — the archiver skips them
// and forgets the schedule, KeepResults — or none was made: completed
// while premium, or restored).
func (j *Job) ArchivesAt(owner *User) time.Time {
	if owner == nil || owner.Premium() || j.status != StatusCompleted || j.storage != StorageAvailable || j.archiveID != "" {
		return time.Time{}
	}
	return j.archiveDue
}

// Version is the optimistic-concurrency version stores compare on update.
func (j *Job) Version() int64 { return j.version }
