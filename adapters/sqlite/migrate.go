package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's versions: migrations[i] takes a database
// from version i to i+1 (PRAGMA user_version). They are append-only: a
// released step is never edited, a change is a new step. Each runs in
// its own transaction with the version bump, so a crash mid-migration
// leaves the previous version intact.
var migrations = []string{
	// 1: every store of local mode.
	`
CREATE TABLE jobs (
	id        TEXT PRIMARY KEY,
	owner     TEXT NOT NULL,
	submitted INTEGER NOT NULL, -- unix ns, the list order
	status    TEXT NOT NULL,
	storage   TEXT NOT NULL,
	version   INTEGER NOT NULL,
	snapshot  BLOB NOT NULL     -- domain.JobSnapshot as JSON
) WITHOUT ROWID;
CREATE INDEX jobs_by_owner ON jobs (owner, submitted DESC, id DESC);
CREATE INDEX jobs_by_storage ON jobs (owner, storage) WHERE status = 'COMPLETED';
CREATE INDEX jobs_by_status ON jobs (status);

CREATE TABLE users (
	id       TEXT PRIMARY KEY,
	version  INTEGER NOT NULL,
	snapshot BLOB NOT NULL      -- domain.UserSnapshot as JSON
) WITHOUT ROWID;

CREATE TABLE tokens (
	hash      TEXT PRIMARY KEY,
	owner     TEXT NOT NULL,
	id        TEXT NOT NULL,
	name      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL,
	UNIQUE (owner, id)
) WITHOUT ROWID;
CREATE INDEX tokens_by_owner ON tokens (owner, created DESC, id);

CREATE TABLE sessions (
	id      TEXT PRIMARY KEY,   -- SHA-256 of the cookie's secret
	owner   TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_owner ON sessions (owner);
CREATE INDEX sessions_by_expiry ON sessions (expires);

CREATE TABLE messages (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	queue      TEXT NOT NULL,
	id         TEXT NOT NULL,
	body       BLOB NOT NULL,
	visible_at INTEGER NOT NULL, -- unix ns
	receives   INTEGER NOT NULL DEFAULT 0,
	receipt    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_by_visibility ON messages (queue, visible_at, seq);

CREATE TABLE outbox (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	owner   TEXT NOT NULL,
	to_addr TEXT NOT NULL,
	subject TEXT NOT NULL,
	text    TEXT NOT NULL,
	html    TEXT NOT NULL,
	sent_at INTEGER NOT NULL
);
CREATE INDEX outbox_by_owner ON outbox (owner, seq DESC);

CREATE TABLE retrievals (
	id       TEXT PRIMARY KEY,
	archive  TEXT NOT NULL,
	tier     TEXT NOT NULL,
	ready_at INTEGER NOT NULL,
	notified INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX retrievals_pending ON retrievals (ready_at) WHERE notified = 0;
`,
	// 2: a message's group (ports.Outgoing.Group: the user an annotation
	// request is for, which the runner's fair share goes by).
	`ALTER TABLE messages ADD COLUMN grp TEXT NOT NULL DEFAULT '';`,
}

// SchemaVersion is the schema this build writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations the database lacks.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this gas (%d): use a newer gas, or restore a backup made by this one", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	return nil
}
