package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Manager is an owner's housekeeping of their jobs: deleting one with
// every object it left (input, results, archive copy), renaming one, and
// searching the list. It is apart from Service because deleting needs cold
// storage, which submitting and viewing do not.
type Manager struct {
	jobs    ports.JobStore
	objects ports.ObjectStore
	archive ports.Archive
	log     *slog.Logger
}

// NewManager checks its ports.
func NewManager(store ports.JobStore, objects ports.ObjectStore, archive ports.Archive, log *slog.Logger) (*Manager, error) {
	if store == nil || objects == nil || archive == nil {
		return nil, errors.New("jobs manager: every port is required")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Manager{jobs: store, objects: objects, archive: archive, log: log.With("service", "jobs")}, nil
}

// Delete removes the owner's job and every object of it. Objects go first
// and the record last, conditional on the version the objects were read
// from: a job that changed meanwhile (archived, claimed) is read again and
// its objects deleted again, and a crash between leaves a record whose
// delete can simply be repeated, never objects nobody knows of. A job
// being annotated or restored is refused (domain.Job.Deletable).
func (m *Manager) Delete(ctx context.Context, user domain.UserID, id domain.JobID) error {
	for range MaxConflictRetries {
		j, err := m.owned(ctx, user, id)
		if err != nil {
			return fmt.Errorf("delete job %s: %w", id, err)
		}
		if err := j.Deletable(); err != nil {
			return fmt.Errorf("delete job %s: %w", id, err)
		}
		if err := m.deleteObjects(ctx, j); err != nil {
			return fmt.Errorf("delete job %s: %w", id, err)
		}
		err = m.jobs.Delete(ctx, id, j.Version())
		switch {
		case err == nil || errors.Is(err, ports.ErrNotFound):
			m.log.InfoContext(ctx, "job deleted", "job", id, "user", user)
			return nil
		case !errors.Is(err, ports.ErrConflict):
			return fmt.Errorf("delete job %s: %w", id, err)
		}
	}
	return fmt.Errorf("delete job %s: still changing after %d attempts: %w", id, MaxConflictRetries, ports.ErrConflict)
}

func (m *Manager) deleteObjects(ctx context.Context, j *domain.Job) error {
	r := j.Results()
	for _, key := range []string{j.InputKey(), r.VCF, r.Index, r.Summary, r.Log} {
		if key == "" {
			continue
		}
		if err := m.objects.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	if a := j.ArchiveID(); a != "" {
		if err := m.archive.Delete(ctx, a); err != nil {
			return fmt.Errorf("delete archive copy %s: %w", a, err)
		}
	}
	return nil
}

// Rename gives the owner's job a name ("" restores the input's name).
func (m *Manager) Rename(ctx context.Context, user domain.UserID, id domain.JobID, name string) (*domain.Job, error) {
	j, err := Mutate(ctx, m.jobs, id, func(j *domain.Job) (bool, error) {
		if j.Owner() != user {
			return false, ports.ErrNotFound
		}
		before := j.Name()
		if err := j.Rename(name); err != nil {
			return false, err
		}
		return j.Name() != before, nil
	})
	if err != nil {
		return nil, fmt.Errorf("rename job %s: %w", id, err)
	}
	return j, nil
}

func (m *Manager) owned(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, error) {
	j, err := m.jobs.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Owner() != user {
		return nil, ports.ErrNotFound
	}
	return j, nil
}

// MaxSearchScan bounds the jobs one search request reads: a search that
// has not filled its page by then returns what it found and a cursor to
// search older jobs from, so a user with a long history cannot make one
// request read all of it.
const MaxSearchScan = 2000

// Search pages through the user's jobs newest first keeping those f
// selects: at most limit jobs, and next ("" at the end) to go on from. It
// reads the list page by page (never more than it can keep) and stops at
// the first job older than f.From.
func (m *Manager) Search(ctx context.Context, user domain.UserID, f domain.JobFilter, cursor string, limit int) ([]*domain.Job, string, error) {
	if limit <= 0 || limit > MaxListLimit {
		return nil, "", fmt.Errorf("search jobs: %w: limit %d not in 1..%d", ErrInvalidRequest, limit, MaxListLimit)
	}
	var out []*domain.Job
	for scanned := 0; ; {
		page, next, err := m.jobs.ListByUser(ctx, user, cursor, limit-len(out))
		if err != nil {
			return nil, "", fmt.Errorf("search jobs of %s: %w", user, err)
		}
		for _, j := range page {
			if f.Older(j) {
				return out, "", nil
			}
			if f.Matches(j) {
				out = append(out, j)
			}
		}
		scanned += len(page)
		cursor = next
		if next == "" || len(out) == limit || scanned >= MaxSearchScan {
			return out, next, nil
		}
	}
}
