package domain

import (
	"fmt"
	"time"
)

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
	j.serviceFault = false
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

// Complete records a successful run: where its results are, the reference
// they were annotated against and their headline numbers.
func (j *Job) Complete(now time.Time, results ResultKeys, reference string, counts Counts) error {
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
	j.counts = counts
	j.storage = StorageAvailable
	j.failure = ""
	j.serviceFault = false
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
	j.serviceFault = !permanent
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
	j.serviceFault = true
	j.leaseUntil = time.Time{}
	j.completedAt = now.UTC()
	return nil
}

// Expire returns a RUNNING job whose lease has lapsed (its worker died or
// lost touch) to PENDING, so it can be requested again. Unlike Release the
// lost run's attempt stays charged: a job that kills every worker it runs
// on must run out of attempts. ErrLeaseHeld while the lease is live;
// ErrAttemptsExhausted when no attempt is left (the caller abandons it).
// A worker still running under the lapsed lease finds the job changed on
// its next write and stops.
func (j *Job) Expire(now time.Time, maxAttempts int) error {
	switch {
	case j.status != StatusRunning:
		return j.refuse("expire lease")
	case now.Before(j.leaseUntil):
		return fmt.Errorf("expire job %s: %w (until %s)", j.id, ErrLeaseHeld, j.leaseUntil.Format(time.RFC3339))
	case j.attempts >= maxAttempts:
		return fmt.Errorf("expire job %s: %w (%d of %d)", j.id, ErrAttemptsExhausted, j.attempts, maxAttempts)
	}
	j.status = StatusPending
	j.leaseUntil = time.Time{}
	return nil
}

// Retry gives a job that FAILED through no fault of its input
// (FailedByService) a fresh start: PENDING with every attempt available,
// its failure and notice forgotten so its owner hears of the new outcome.
// A job that failed on its input is refused: running it again would fail
// the same way.
func (j *Job) Retry() error {
	if !j.FailedByService() {
		return j.refuse("retry")
	}
	j.status = StatusPending
	j.attempts = 0
	j.failure = ""
	j.serviceFault = false
	j.completedAt = time.Time{}
	j.leaseUntil = time.Time{}
	j.noticeUntil, j.notifiedAt, j.noticeError = time.Time{}, time.Time{}, ""
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
