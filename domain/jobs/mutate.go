package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// MaxConflictRetries bounds how often Mutate reloads and re-applies a change
// that lost a conditional write to a concurrent one.
const MaxConflictRetries = 8

// Change is a pure edit of a job: it applies domain transitions only (no
// remote calls, since it may run several times) and reports whether the job
// must be written. Returning false leaves the store untouched, which is how
// a redelivered step that is already done becomes a no-op.
type Change func(j *domain.Job) (write bool, err error)

// Mutate is the one conditional read-modify-write loop of GAS: load the job,
// apply change, write it if the version is unchanged, and on ErrConflict
// reload and re-apply, at most MaxConflictRetries times. It returns the job
// as stored afterwards (unchanged when change asked for no write).
func Mutate(ctx context.Context, store ports.JobStore, id domain.JobID, change Change) (*domain.Job, error) {
	for range MaxConflictRetries {
		j, err := store.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load job %s: %w", id, err)
		}
		write, err := change(j)
		if err != nil {
			return j, err
		}
		if !write {
			return j, nil
		}
		updated, err := store.Update(ctx, j)
		if errors.Is(err, ports.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("write job %s: %w", id, err)
		}
		return updated, nil
	}
	return nil, fmt.Errorf("write job %s: still conflicting after %d attempts: %w", id, MaxConflictRetries, ports.ErrConflict)
}

// Clone copies a job so a caller can try a transition without touching the
// copy it may still need (snapshots round-trip every field).
func Clone(j *domain.Job) *domain.Job {
	c, err := domain.JobFromSnapshot(j.Snapshot())
	if err != nil { // a job that exists was valid when built
		return j
	}
	return c
}
