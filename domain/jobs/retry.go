package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// ErrNotRetryable is Retry's refusal: the job is neither FAILED through
// the service's fault nor RESTORING past its expected time. (An input no
// longer stored is ErrInputGone, as for a re-run.)
var ErrNotRetryable = errors.New("this job cannot be retried now")

// WithRestoreChecks lets Retry ask the restorer to look again at a late
// restore, through p (the restore-completions topic). Without it Retry
// refuses restores.
func (s *Service) WithRestoreChecks(p ports.Publisher) *Service {
	s.restores = p
	return s
}

// Retry is the job page's "retry" for a job that is stuck through no fault
// of its owner: a job FAILED by the service (dead-lettered, interrupted
// too often) is queued again from its stored input with every attempt
// back; a job RESTORING past its expected time gets its retrieval checked
// again (the restorer starts a new one if cold storage forgot it). The
// reconciler would find both in time; this lets the owner not wait.
// ErrNotRetryable for any other job.
func (s *Service) Retry(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, error) {
	j, err := s.Get(ctx, user, id)
	if err != nil {
		return nil, fmt.Errorf("retry: %w", err)
	}
	switch now := s.clock.Now(); {
	case j.FailedByService():
		return s.rerun(ctx, j)
	case j.RestoreOverdue(now) && s.restores != nil:
		if err := message.Publish(ctx, s.restores, message.RestoreCompleted(id)); err != nil {
			return nil, fmt.Errorf("retry restore of job %s: %w", id, err)
		}
		s.log.InfoContext(ctx, "late restore checked again at its owner's request", "job", id)
		return j, nil
	}
	return nil, fmt.Errorf("retry job %s (%s/%s): %w", id, j.Status(), j.Storage(), ErrNotRetryable)
}

// rerun queues a job FAILED by the service again. The input is checked
// first: without it the job could only fail again.
func (s *Service) rerun(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	if _, err := s.objects.Head(ctx, j.InputKey()); errors.Is(err, ports.ErrNotFound) {
		return nil, fmt.Errorf("retry job %s: %w", j.ID(), ErrInputGone)
	} else if err != nil {
		return nil, fmt.Errorf("retry job %s: %w", j.ID(), err)
	}
	id := j.ID()
	j, err := Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Status() == domain.StatusPending {
			return false, nil // retried concurrently
		}
		return true, cur.Retry()
	})
	if err != nil {
		return nil, fmt.Errorf("retry job %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "job queued again at its owner's request", "job", id)
	// The job is PENDING in the store: if this publish is lost, the
	// reconciler requests it again.
	return j, s.request(ctx, j)
}
