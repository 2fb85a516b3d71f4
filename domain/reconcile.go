package domain

import "time"

// Finding names one kind of thing the reconciler found missing and
// re-issued; the names label its metrics.
type Finding string

// What the reconciler looks for (ARCHITECTURE.md, Convergence). Each
// finding is a job whose next step depends on a message that should have
// acted by now, and each repair re-issues that message: every consumer
// takes duplicates in its stride, so a repair that races the original
// costs one redundant delivery, never a wrong state.
const (
	// FindingUnrequested: PENDING with no request left to run it (the
	// submit died between storing the job and publishing, the request was
	// lost or dead-lettered and dropped): published again.
	FindingUnrequested Finding = "pending_unrequested"
	// FindingLeaseExpired: RUNNING under a lease that lapsed a grace ago
	// (its worker died and its request was lost): returned to PENDING with
	// the run charged (FAILED if no attempt is left) and requested again.
	FindingLeaseExpired Finding = "lease_expired"
	// FindingArchiveOverdue: results still hot, with no archive copy, a
	// grace after their archive schedule came due (Job.ArchiveDue, set
	// only for results completed under free rules and forgotten by an
	// upgrade): the archive is scheduled.
	FindingArchiveOverdue Finding = "archive_overdue"
	// FindingArchivedPremium: ARCHIVED results of a user premium for a
	// grace (the thaw request was lost, or its listing missed the job): the
	// job is thawed on its own.
	FindingArchivedPremium Finding = "archived_premium"
	// FindingRestoreOverdue: RESTORING a grace past its expected time: the
	// restorer checks the retrieval again (and starts a new one if cold
	// storage forgot it).
	FindingRestoreOverdue Finding = "restore_overdue"
	// FindingArchiveCopyLeft: restored results whose archive copy was not
	// deleted (the restorer died in between): the restorer finishes.
	FindingArchiveCopyLeft Finding = "archive_copy_left"
	// FindingNoticeUnsent: finished a grace ago and its owner not told,
	// with no notifier holding the notice: the result event is published.
	FindingNoticeUnsent Finding = "notice_unsent"
)

// Findings lists every finding, for metrics that report zeros too.
var Findings = []Finding{FindingUnrequested, FindingLeaseExpired, FindingArchiveOverdue, FindingArchivedPremium,
	FindingRestoreOverdue, FindingArchiveCopyLeft, FindingNoticeUnsent}

// Diagnose is the reconciler's rule (ARCHITECTURE.md, Convergence): what
// job j is missing at now, each a grace after the message that should
// have acted. owner reads the job's owner, strongly consistently, only
// when a decision needs it (nil when unreadable: the decision waits for
// the next pass). FindingUnrequested marks a PENDING job idle for the
// grace: only a candidate, since its request may wait in a backlog.
func (p Policy) Diagnose(j *Job, owner func() *User, now time.Time, grace time.Duration) []Finding {
	var out []Finding
	add := func(f Finding, missing bool) {
		if missing {
			out = append(out, f)
		}
	}
	switch j.Status() {
	case StatusPending:
		add(FindingUnrequested, now.Sub(lastRequested(j)) > grace)
	case StatusRunning:
		add(FindingLeaseExpired, now.Sub(j.LeaseUntil()) > grace)
	case StatusCompleted, StatusFailed:
		add(FindingNoticeUnsent, !j.Notified() && now.Sub(j.CompletedAt()) > grace && now.After(j.NoticeHeldUntil()))
		if j.Status() == StatusCompleted {
			f, ok := p.diagnoseResults(j, owner, now, grace)
			add(f, ok)
		}
	}
	return out
}

// lastRequested is when j was last submitted or claimed: a request is
// published (or redelivered) at each.
func lastRequested(j *Job) time.Time {
	if j.StartedAt().After(j.SubmittedAt()) {
		return j.StartedAt()
	}
	return j.SubmittedAt()
}

// diagnoseResults checks where a completed job's results are against
// where they should be by now.
func (p Policy) diagnoseResults(j *Job, owner func() *User, now time.Time, grace time.Duration) (Finding, bool) {
	switch j.Storage() {
	case StorageAvailable:
		if j.ArchiveID() != "" {
			return FindingArchiveCopyLeft, true
		}
		// The job's own archive schedule says whether its results were
		// completed under free rules; the archiver checks the owner's plan
		// again before moving anything.
		due := j.ArchiveDue()
		return FindingArchiveOverdue, !due.IsZero() && now.Sub(due) > grace
	case StorageArchived:
		u := owner()
		return FindingArchivedPremium, u != nil && u.Premium() && now.Sub(u.UpgradedAt()) > grace
	case StorageRestoring:
		return FindingRestoreOverdue, now.Sub(j.RestoreExpectedBy()) > grace
	}
	return "", false
}
