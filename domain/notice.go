package domain

import "time"

// Notice is what GAS tells a user when one of their jobs finishes. The
// domain decides the facts (which job, whether it failed and why, until
// when a free user may download); wording, HTML and links are
// presentation, rendered by an adapter (ports.Composer).
type Notice struct {
	// To and Name address the job's owner.
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
	// Summary holds the headline numbers of a completed job; nil when it
	// could not be read (the notice goes out without it).
	Summary *Summary
}

// NewNotice states the facts of j's outcome for owner under policy p.
func NewNotice(j *Job, owner *User, s *Summary, p Policy) Notice {
	n := Notice{
		To: owner.Email(), Name: owner.Name(), Job: j.ID(), Input: j.InputName(),
		Failed: j.Status() == StatusFailed, Reason: j.FailureReason(), CompletedAt: j.CompletedAt(),
	}
	if n.Failed {
		return n
	}
	n.Summary = s
	if p.Archives(owner.Tier()) {
		n.ArchiveAt = j.CompletedAt().Add(p.FreeWindow)
	}
	return n
}
