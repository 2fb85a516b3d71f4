package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// DefaultPageSize is the page length ListByUser uses when asked for 0 or less.
const DefaultPageSize = 25

// ErrBadCursor is returned for a ListByUser cursor this store did not make.
var ErrBadCursor = errors.New("invalid page cursor")

// JobStore is ports.JobStore on the jobs table: the snapshot as JSON, and
// beside it the columns lists and compare-and-set need (owner, submission
// time, status, storage, version), each list served by an index.
//
// A job at a given version never changes, so decoded snapshots are kept by
// id and version: a page of the job list decodes only jobs that changed
// since they were last read, instead of 25 JSON documents per request.
type JobStore struct {
	db    *DB
	cache *snapshots
}

var _ ports.JobStore = (*JobStore)(nil)

// NewJobStore uses db's jobs table.
func NewJobStore(db *DB) *JobStore { return &JobStore{db: db, cache: newSnapshots(8192)} }

// Create stores job as it is; ErrExists if its id is taken.
func (s *JobStore) Create(ctx context.Context, job *domain.Job) error {
	if job == nil {
		return fmt.Errorf("create job: nil job")
	}
	snap := job.Snapshot()
	js, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("create job %s: %w", snap.ID, err)
	}
	err = s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, owner, submitted, status, storage, version, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			snap.ID, snap.Owner, snap.SubmittedAt.UnixNano(), snap.Status, snap.Storage, snap.Version, js)
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("create job %s: %w", snap.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", snap.ID, err)
	}
	return nil
}

// Get returns the job; ErrNotFound if absent.
func (s *JobStore) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	var version int64
	var js []byte
	err := s.db.queryRow(ctx, `SELECT version, snapshot FROM jobs WHERE id = ?`, id).Scan(&version, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get job %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return s.decode(string(id), version, js)
}

// Update writes job if the stored version equals job.Version() and returns
// it at the next version; ErrConflict when another write got there first,
// ErrNotFound when there is no such job.
func (s *JobStore) Update(ctx context.Context, job *domain.Job) (*domain.Job, error) {
	if job == nil {
		return nil, fmt.Errorf("update job: nil job")
	}
	snap := job.Snapshot()
	snap.Version++
	out, err := domain.JobFromSnapshot(snap)
	if err != nil {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, err)
	}
	js, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, err)
	}
	err = s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, storage = ?, version = ?, snapshot = ?
			WHERE id = ? AND version = ? AND owner = ? AND submitted = ?`,
			snap.Status, snap.Storage, snap.Version, js, snap.ID, snap.Version-1, snap.Owner, snap.SubmittedAt.UnixNano())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var version int64
		var owner string
		var submitted int64
		err = tx.QueryRowContext(ctx, `SELECT version, owner, submitted FROM jobs WHERE id = ?`, snap.ID).Scan(&version, &owner, &submitted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ports.ErrNotFound
		case err != nil:
			return err
		case version != snap.Version-1:
			return fmt.Errorf("at version %d (stored %d): %w", snap.Version-1, version, ports.ErrConflict)
		}
		return errors.New("owner and submission time are immutable")
	})
	if err != nil {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, err)
	}
	s.cache.put(snap)
	return out, nil
}

// ListByUser pages through user's jobs newest first (ties by id,
// descending) from the owner index; the cursor is the last job returned,
// so jobs created while a user pages never shift later pages.
func (s *JobStore) ListByUser(ctx context.Context, user domain.UserID, cursor string, limit int) ([]*domain.Job, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	q := `SELECT submitted, id, version, snapshot FROM jobs WHERE owner = ? ORDER BY submitted DESC, id DESC LIMIT ?`
	args := []any{user, limit + 1}
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
		}
		q = `SELECT submitted, id, version, snapshot FROM jobs WHERE owner = ? AND (submitted < ? OR (submitted = ? AND id < ?))
			ORDER BY submitted DESC, id DESC LIMIT ?`
		args = []any{user, at, at, id, limit + 1}
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
	}
	defer rows.Close()
	var (
		jobs   []*domain.Job
		lastAt int64
		lastID string
	)
	for rows.Next() {
		if len(jobs) == limit {
			return jobs, encodeCursor(lastAt, lastID), rows.Close()
		}
		var version int64
		var js sql.RawBytes
		if err := rows.Scan(&lastAt, &lastID, &version, &js); err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
		}
		j, err := s.decode(lastID, version, js)
		if err != nil {
			return nil, "", err
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
	}
	return jobs, "", nil
}

// ListByStorage returns user's completed jobs whose results are in state,
// newest first, from the partial storage index.
func (s *JobStore) ListByStorage(ctx context.Context, user domain.UserID, state domain.Storage) ([]*domain.Job, error) {
	return s.jobs(ctx, fmt.Sprintf("list %s jobs of %s", state, user), `SELECT id, version, snapshot FROM jobs
		WHERE owner = ? AND storage = ? AND status = 'COMPLETED' ORDER BY submitted DESC, id DESC`, user, state)
}

// InStatus lists every job in status, oldest first, from the status index:
// local mode's start looks for PENDING jobs whose request a crash lost.
func (s *JobStore) InStatus(ctx context.Context, status domain.Status) ([]*domain.Job, error) {
	return s.jobs(ctx, fmt.Sprintf("list %s jobs", status), `SELECT id, version, snapshot FROM jobs WHERE status = ? ORDER BY submitted, id`, status)
}

// Owners lists the users who have a job in status and results storage
// state (local mode's start looks for premium users with ARCHIVED jobs,
// whose thaw a crash may have lost).
func (s *JobStore) Owners(ctx context.Context, status domain.Status, storage domain.Storage) ([]domain.UserID, error) {
	rows, err := s.db.query(ctx, `SELECT DISTINCT owner FROM jobs WHERE status = ? AND storage = ?`, status, storage)
	if err != nil {
		return nil, fmt.Errorf("owners of %s %s jobs: %w", status, storage, err)
	}
	defer rows.Close()
	var out []domain.UserID
	for rows.Next() {
		var u domain.UserID
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("owners of %s %s jobs: %w", status, storage, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Counts returns the number of jobs in each status (for /metrics), from
// the status index.
func (s *JobStore) Counts(ctx context.Context) (map[domain.Status]int, error) {
	rows, err := s.db.query(ctx, `SELECT status, count(*) FROM jobs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[domain.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[domain.Status(st)] = n
	}
	return out, rows.Err()
}

// decode makes the job stored as js at version, decoding it only if the
// cache lacks that version.
func (s *JobStore) decode(id string, version int64, js []byte) (*domain.Job, error) {
	snap, ok := s.cache.get(id, version)
	if !ok {
		if err := json.Unmarshal(js, &snap); err != nil {
			return nil, fmt.Errorf("decode job %s: %w", id, err)
		}
		s.cache.put(snap)
	}
	j, err := domain.JobFromSnapshot(snap)
	if err != nil {
		return nil, fmt.Errorf("load job %s: %w", snap.ID, err)
	}
	return j, nil
}

// A cursor is the submission time (8 bytes) and id of the last job returned.
func encodeCursor(at int64, id string) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(at))
	return base64.RawURLEncoding.EncodeToString(append(b, id...))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) <= 8 {
		return 0, "", fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	return int64(binary.BigEndian.Uint64(b)), string(b[8:]), nil
}

// isUniqueViolation reports a PRIMARY KEY or UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// snapshots caches decoded job snapshots by id, each valid for its version
// only; beyond max entries an arbitrary one makes room.
type snapshots struct {
	mu  sync.Mutex
	max int
	m   map[string]domain.JobSnapshot
}

func newSnapshots(max int) *snapshots {
	return &snapshots{max: max, m: make(map[string]domain.JobSnapshot, max)}
}

func (c *snapshots) get(id string, version int64) (domain.JobSnapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return s, ok && s.Version == version
}

func (c *snapshots) put(s domain.JobSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(s.ID)]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(s.ID)] = s
}

func (c *snapshots) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// scanPage is how many jobs Scan reads per query: it never holds a read
// open while visit runs (visit may write), and pages by id.
const scanPage = 500

// Scan visits every job from the table itself, a page at a time in id
// order, for the reconciler.
func (s *JobStore) Scan(ctx context.Context, visit func(*domain.Job) error) error {
	after := ""
	for {
		page, err := s.scanAfter(ctx, after)
		if err != nil {
			return err
		}
		for _, j := range page {
			if err := visit(j); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = string(page[len(page)-1].ID())
	}
}

func (s *JobStore) scanAfter(ctx context.Context, after string) ([]*domain.Job, error) {
	return s.jobs(ctx, "scan jobs", `SELECT id, version, snapshot FROM jobs WHERE id > ? ORDER BY id LIMIT ?`, after, scanPage)
}

// jobs runs q, which selects id, version and snapshot, and decodes every
// row it returns; what says what was asked, for errors.
func (s *JobStore) jobs(ctx context.Context, what, q string, args ...any) ([]*domain.Job, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*domain.Job
	for rows.Next() {
		var id string
		var version int64
		var js sql.RawBytes
		if err := rows.Scan(&id, &version, &js); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		j, err := s.decode(id, version, js)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Delete removes the job if its stored version is version (one
// conditional DELETE); ErrConflict if it changed, ErrNotFound if it is
// gone.
func (s *JobStore) Delete(ctx context.Context, id domain.JobID, version int64) error {
	err := s.db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ? AND version = ?`, id, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var stored int64
		err = tx.QueryRowContext(ctx, `SELECT version FROM jobs WHERE id = ?`, id).Scan(&stored)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ports.ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("at version %d (stored %d): %w", version, stored, ports.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	s.cache.drop(string(id))
	return nil
}
