// Package sqlite keeps every store of local mode in one SQLite database
// (modernc.org/sqlite: pure Go, so `go run` needs no C toolchain): jobs,
// users, API tokens, sessions, the message queues and their topics, the
// outbox and the local cold storage's retrieval bookkeeping. Nothing is
// lost when `gas serve` stops or is killed: the database runs in WAL mode
// with full synchronous commits, and its schema is versioned and migrated
// at start.
//
// A database is opened by one process at a time: Open takes an exclusive
// lock beside the file and refuses, naming the holder, while another
// process has it. Writes go through one connection (SQLite has one writer
// anyway, and Go-side queueing beats busy retries); reads use a pool that
// WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/gofrs/flock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrLocked is returned by Open while another process has the database.
var ErrLocked = errors.New("database is in use by another process")

// DB is an open GAS database.
type DB struct {
	path  string
	w     *sql.DB // the one writer connection
	r     *sql.DB // readers
	lock  *flock.Flock
	stmts sync.Map // query text -> *sql.Stmt on r

	writes  chan writeReq // to the writer goroutine
	closed  chan struct{} // closed by Close
	stopped chan struct{} // closed when the writer has returned
}

// Open opens (creating if needed) the database at path, locks it for this
// process and brings its schema up to date. It fails with ErrLocked if
// another process holds it, and refuses a database written by a newer
// version of GAS.
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("database %s: %w", abs, err)
	}
	lock, err := acquire(abs + ".lock")
	if err != nil {
		return nil, err
	}
	// The database holds e-mail addresses and mail: readable by its owner
	// only (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	db := &DB{path: abs, lock: lock, writes: make(chan writeReq), closed: make(chan struct{}), stopped: make(chan struct{})}
	if err := db.open(ctx); err != nil {
		close(db.stopped)
		db.Close()
		return nil, err
	}
	go db.writer()
	return db, nil
}

// acquire takes the lock file beside the database, recording this
// process's id in it so a refused process can say who holds it.
func acquire(path string) (*flock.Flock, error) {
	l := flock.New(path)
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		holder := "another process"
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = "process " + strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("%s is used by %s, another gas serve on the same data directory? (lock %s): %w",
			filepath.Dir(path), holder, path, ErrLocked)
	}
	// The lock is on the file, not its contents: record who holds it.
	_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return l, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("mode", "ro")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (db *DB) open(ctx context.Context) error {
	var err error
	if db.w, err = sql.Open("sqlite", dsn(db.path, false)); err != nil {
		return fmt.Errorf("open database %s: %w", db.path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, db.w); err != nil {
		return fmt.Errorf("database %s: %w", db.path, err)
	}
	if db.r, err = sql.Open("sqlite", dsn(db.path, true)); err != nil {
		return fmt.Errorf("open database %s: %w", db.path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	return nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close waits for the write in progress, closes the connections and
// releases the lock.
func (db *DB) Close() error {
	select {
	case <-db.closed:
		return nil
	default:
	}
	close(db.closed)
	<-db.stopped
	var errs []error
	db.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	for _, c := range []*sql.DB{db.r, db.w} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	if db.lock != nil {
		errs = append(errs, db.lock.Unlock())
	}
	return errors.Join(errs...)
}

// query runs a read on the reader pool through a prepared statement kept
// per query text: parsing the SQL again on every web request cost as much
// as running it.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx, err := readContext(ctx)
	if err != nil {
		return nil, err
	}
	st, err := db.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for one row; errors surface in Scan.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx, err := readContext(ctx)
	if err != nil {
		return db.r.QueryRowContext(ctx, q, args...) // ctx is done: reports its error on Scan
	}
	st, err := db.stmt(ctx, q)
	if err != nil {
		return db.r.QueryRowContext(ctx, q, args...) // reports the same error on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// readContext is the context a read runs under: ctx's values without its
// cancellation, once ctx is checked. database/sql and the driver each
// start a goroutine per statement to watch a cancellable context, and
// waking them cost more than the read itself: a job's status over the
// API took 450 µs of server CPU, most of it the scheduler's (on a
// virtual machine a thread's wake-up is dear). Reads are indexed lookups,
// pages (a search reads at most 2,000 jobs) and the housekeeping's scans
// by status: milliseconds, so one finishes about as soon as a cancelled
// one would have stopped.
func readContext(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return ctx, err
	}
	return context.WithoutCancel(ctx), nil
}

func (db *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// write runs f in a write transaction and returns once it is committed
// (or f failed and its changes were undone). Writes from concurrent
// callers are committed together (group commit): the one writer runs
// each f under its own savepoint, one after another, and commits the
// batch with one fsync, so throughput under load is not one fsync per
// write. f gets a context that is not cancelled while it runs: cancelling
// a statement inside a shared transaction would roll back the whole batch.
func (db *DB) write(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := writeReq{ctx: ctx, f: f, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-db.closed:
		return errClosed
	}
	return <-req.done
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("database is closed")

// maxBatch bounds the writes committed together.
const maxBatch = 128

type writeReq struct {
	ctx  context.Context
	f    func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// writer runs the write batches until Close.
func (db *DB) writer() {
	defer close(db.stopped)
	for {
		var batch []writeReq
		select {
		case req := <-db.writes:
			batch = append(batch, req)
		case <-db.closed:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case req := <-db.writes:
				batch = append(batch, req)
			default:
				break more
			}
		}
		db.commit(batch)
	}
}

// commit runs a batch in one transaction; each write's error goes to its
// caller, a failed commit's to all of them.
func (db *DB) commit(batch []writeReq) {
	errs := make([]error, len(batch))
	ctx := context.Background()
	tx, err := db.w.BeginTx(ctx, nil)
	if err == nil {
		for i, req := range batch {
			errs[i] = runSavepoint(ctx, tx, req)
		}
		err = tx.Commit()
	}
	for i, req := range batch {
		req.done <- errors.Join(errs[i], err)
	}
}

// runSavepoint runs one write under a savepoint, undoing it alone if it
// fails (or its caller has given up meanwhile).
func runSavepoint(ctx context.Context, tx *sql.Tx, req writeReq) (err error) {
	if err := req.ctx.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
		if err != nil {
			_, _ = tx.ExecContext(ctx, "ROLLBACK TO w")
		}
		_, _ = tx.ExecContext(ctx, "RELEASE w")
	}()
	return req.f(ctx, tx)
}

// Backup writes a consistent copy of the database at path to out (which
// must not exist) with VACUUM INTO, while a server may be using it: it
// needs no lock, reads one WAL snapshot and leaves the live database as it
// was. The copy is a database Open accepts.
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("back up to %s: %w", out, os.ErrExist)
	}
	c, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("back up %s to %s: %w", path, out, err)
	}
	return nil
}
