package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxJobName bounds the name an owner gives a job, in characters.
const MaxJobName = 120

// ErrInvalidName is wrapped when a job would be given an unusable name.
var ErrInvalidName = fmt.Errorf("%w: invalid name", ErrInvalidJob)

// Rename gives the job the name its owner calls it by (lists, pages,
// e-mails); "" goes back to the input's file name. The input file and
// the download names keep the uploaded name.
func (j *Job) Rename(name string) error {
	name = strings.TrimSpace(name)
	switch {
	case utf8.RuneCountInString(name) > MaxJobName:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidName, MaxJobName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: it contains control characters", ErrInvalidName)
	}
	if name == j.inputName {
		name = ""
	}
	j.name = name
	return nil
}

// Deletable says whether the owner may delete the job now: not while an
// annotator writes its results (RUNNING) or cold storage writes them back
// (RESTORING), since those would land after the job is gone. A PENDING
// job may be deleted; its request then finds no job.
func (j *Job) Deletable() error {
	if j.status == StatusRunning || j.storage == StorageRestoring {
		return j.refuse("delete")
	}
	return nil
}

// JobFilter selects a user's jobs for the job list's search; the zero
// value selects every job.
type JobFilter struct {
	// Name matches jobs whose name or input file name contains it, in any case.
	Name string
	// State is a job's state as the list shows it: a Status, or ARCHIVED or
	// RESTORING for a completed job whose results are there ("" for any).
	State string
	// From and To bound the submission time: From <= submitted < To
	// (either zero for no bound).
	From, To time.Time
}

// States a JobFilter can ask for, beside the statuses.
const (
	StateArchived  = "ARCHIVED"
	StateRestoring = "RESTORING"
)

// State is the job's state as lists show it: a completed job's storage
// matters more to its owner than "COMPLETED" once archived or restoring.
func (j *Job) State() string {
	if j.status == StatusCompleted {
		switch j.storage {
		case StorageArchived:
			return StateArchived
		case StorageRestoring:
			return StateRestoring
		}
	}
	return string(j.status)
}

// Any reports whether the filter selects every job.
func (f JobFilter) Any() bool { return f == JobFilter{} }

// Matches reports whether the filter selects j.
func (f JobFilter) Matches(j *Job) bool {
	if f.Name != "" && !containsFold(j.Name(), f.Name) && !containsFold(j.inputName, f.Name) {
		return false
	}
	if f.State != "" && j.State() != f.State {
		return false
	}
	if !f.From.IsZero() && j.submittedAt.Before(f.From) {
		return false
	}
	return f.To.IsZero() || j.submittedAt.Before(f.To)
}

// Older reports whether j, and every job submitted before it, is older than
// the filter's From: a newest-first scan can stop there.
func (f JobFilter) Older(j *Job) bool { return !f.From.IsZero() && j.submittedAt.Before(f.From) }

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
