package domain

import "time"

// DownloadState is what a user may do with a job's results right now.
type DownloadState string

// Download decisions shown on the detail page and returned by the API.
const (
	// DownloadAllowed: the results are hot and may be fetched.
	DownloadAllowed DownloadState = "allowed"
	// DownloadUpgradeRequired: archived; a free user must upgrade to get them back.
	DownloadUpgradeRequired DownloadState = "archived-upgrade-to-download"
	// DownloadRestoring: a retrieval is in flight; see tier and expected time.
	DownloadRestoring DownloadState = "restoring"
	// DownloadNotReady: the job has no results (not completed, failed or cancelled).
	DownloadNotReady DownloadState = "not-ready"
)

// DownloadDecision tells the page and API what to offer for a job.
type DownloadDecision struct {
	State DownloadState
	// Tier and ExpectedBy describe an in-flight restore.
	Tier       RetrievalTier
	ExpectedBy time.Time
	// ArchiveAt is when a free user's hot results will be archived (zero if never).
	ArchiveAt time.Time
}

// DecideDownload applies the tier rules to a job for its owner at now. A
// free user's results stop being downloadable the instant their archive
// schedule (Job.ArchivesAt) comes due, whether or not the archiver has moved them yet, so a
// page that decides once cannot be contradicted by an archiver running
// between its steps. Callers decide once per request and act on that
// decision.
func DecideDownload(j *Job, owner *User, p Policy, now time.Time) DownloadDecision {
	if j.Status() != StatusCompleted {
		return DownloadDecision{State: DownloadNotReady}
	}
	switch j.Storage() {
	case StorageArchived:
		return DownloadDecision{State: DownloadUpgradeRequired}
	case StorageRestoring:
		return DownloadDecision{State: DownloadRestoring, Tier: j.RetrievalTier(), ExpectedBy: j.RestoreExpectedBy()}
	}
	at := j.ArchivesAt(owner)
	if !at.IsZero() && !now.Before(at) {
		return DownloadDecision{State: DownloadUpgradeRequired, ArchiveAt: at}
	}
	return DownloadDecision{State: DownloadAllowed, ArchiveAt: at}
}
