package domain

import (
	"fmt"
	"time"
)

// Notice is what GAS tells a user when one of their jobs finishes. The
// domain decides the facts (which job, whether it failed and why, until
// when a free user may download); wording, HTML and links are
// presentation, rendered by an adapter (ports.Composer).
type Notice struct {
	// User is the job's owner; To and Name address them.
	User     UserID
	To, Name string
	Job      JobID
	// Input is the file name the user uploaded.
	Input string
	// Failed is set for a FAILED job, with Reason the user-facing cause.
	Failed bool
	Reason string
	// CompletedAt is when the job reached its terminal status.
	CompletedAt time.Time
	// ArchiveAt is when a free user's results move to cold storage; zero
	// when they are kept (premium, or a failed job).
	ArchiveAt time.Time
	// Counts are a completed job's headline numbers.
	Counts Counts
	// Reference names the annotation database the job was annotated
	// against (with Counts.SuspectReference, whether it may not fit).
	Reference string
}

// NewNotice states the facts of j's outcome for owner under policy p.
func NewNotice(j *Job, owner *User, p Policy) Notice {
	n := Notice{
		User: owner.ID(), To: owner.Email(), Name: owner.Name(), Job: j.ID(), Input: j.InputName(),
		Failed: j.Status() == StatusFailed, Reason: j.FailureReason(), CompletedAt: j.CompletedAt(),
	}
	if n.Failed {
		return n
	}
	n.Counts, n.Reference = j.Counts(), j.Reference()
	n.ArchiveAt = j.ArchivesAt(owner)
	return n
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

// NoticeRejected records that the owner cannot be told: the mail service
// refused their address for good (an unverified recipient in the SES
// sandbox, a malformed or suppressed address). No retry can fix that, so
// the notice counts as handled and the reason is shown on the job page
// instead. ErrAlreadyNotified if a notice was recorded before.
func (j *Job) NoticeRejected(now time.Time, reason string) error {
	if err := j.NoticeSent(now); err != nil {
		return err
	}
	if reason == "" {
		reason = "the mail service refused the address"
	}
	j.noticeError = reason
	return nil
}
