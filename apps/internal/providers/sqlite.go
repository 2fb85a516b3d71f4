package providers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// DataDir is the directory durable local mode keeps everything in.
type DataDir string

// Where things live in a data directory. `gas backup` copies all of it
// but the database, which it snapshots, and the lock.
const (
	DatabaseFile = "gas.db"  // SQLite: jobs, users, tokens, sessions, queues, outbox, retrievals
	ObjectsDir   = "objects" // inputs and hot results, one file each
	ArchiveDir   = "archive" // cold storage
	SecretFile   = "secret"  // the signing keys of sessions and presigned URLs
)

// SQLiteSet provides every port of durable local mode (`gas serve`): the
// stores, queues, topics and outbox in one SQLite database, objects and
// cold storage as files, all under one data directory, which the database
// locks for the process. MemorySet is its ephemeral twin.
var SQLiteSet = wire.NewSet(
	SystemClock,
	RandomIDs,
	SQLiteDatabase,
	sqlite.NewJobStore,
	WatchSQLiteJobs,
	wire.Bind(new(ports.JobStore), new(*WatchedJobStore)),
	wire.Bind(new(JobCounter), new(*sqlite.JobStore)),
	sqlite.NewUserStore,
	wire.Bind(new(ports.UserStore), new(*sqlite.UserStore)),
	sqlite.NewTokenStore,
	wire.Bind(new(ports.TokenStore), new(*sqlite.TokenStore)),
	sqlite.NewSessionStore,
	wire.Bind(new(ports.SessionStore), new(*sqlite.SessionStore)),
	SQLiteMessages,
	SQLiteOutbox,
	wire.Bind(new(ports.Mailer), new(*sqlite.Outbox)),
	SQLiteOutboxReader,
	DataSecrets,
	DiskObjectStore,
	wire.Bind(new(ports.ObjectStore), new(*disk.ObjectStore)),
	wire.Bind(new(LocalObjects), new(*disk.ObjectStore)),
	DiskArchive,
	wire.Bind(new(ports.Archive), new(*disk.Archive)),
	MemoryBilling,
)

// SQLiteDatabase opens (creating and migrating) the data directory's
// database and holds its lock until cleanup: a second process on the same
// directory is refused.
func SQLiteDatabase(ctx context.Context, dir DataDir) (*sqlite.DB, func(), error) {
	db, err := sqlite.Open(ctx, filepath.Join(string(dir), DatabaseFile))
	if err != nil {
		return nil, nil, err
	}
	return db, func() { _ = db.Close() }, nil
}

// SQLiteMessages opens the message topology in the database, where the
// messages of a dead process are (those it had received are delivered
// again), then re-issues what a crash between a store write and its
// message can have lost.
func SQLiteMessages(ctx context.Context, db *sqlite.DB, store *sqlite.JobStore, users *sqlite.UserStore,
	clock ports.Clock) (*message.Bus, error) {
	bus, err := sqlite.OpenTopology(ctx, db, message.DefaultTopology(), clock)
	if err != nil {
		return nil, err
	}
	if err := resume(ctx, store, users, bus); err != nil {
		return nil, fmt.Errorf("resume after restart: %w", err)
	}
	return bus, nil
}

// resume requests every PENDING job again (a crash between storing a job
// and publishing its request leaves a job no message leads to) and thaws
// every premium user who has ARCHIVED results (a crash between an upgrade
// and its thaw request). Stores are the truth, messages hints
// (ARCHITECTURE.md, Convergence): a job or user that had its message gets
// a second one, which the runner's claim and the thawer take in their
// stride.
func resume(ctx context.Context, store *sqlite.JobStore, users *sqlite.UserStore, bus *message.Bus) error {
	pending, err := store.InStatus(ctx, domain.StatusPending)
	if err != nil {
		return err
	}
	for _, j := range pending {
		if err := message.Schedule(ctx, bus.Queue(message.QueueAnnotate), message.JobRequest(j.ID(), j.Owner()), time.Time{}); err != nil {
			return err
		}
	}
	owners, err := store.Owners(ctx, domain.StatusCompleted, domain.StorageArchived)
	if err != nil {
		return err
	}
	for _, id := range owners {
		u, err := users.Get(ctx, id)
		if err != nil {
			return err
		}
		if !u.Premium() {
			continue
		}
		if err := message.Publish(ctx, bus.Topic(message.TopicThawRequests), message.ThawUser(id)); err != nil {
			return err
		}
	}
	return nil
}

// SQLiteOutbox keeps sent e-mails in the database for the outbox page.
func SQLiteOutbox(db *sqlite.DB, clock ports.Clock) (*sqlite.Outbox, error) {
	return sqlite.NewOutbox(db, clock, sqlite.DefaultOutboxSize)
}

// SQLiteOutboxReader reads the outbox for the outbox page.
func SQLiteOutboxReader(o *sqlite.Outbox) OutboxReader {
	return func(ctx context.Context, user domain.UserID) ([]web.OutboxEmail, error) {
		sent, err := o.SentTo(ctx, user)
		if err != nil {
			return nil, err
		}
		out := make([]web.OutboxEmail, len(sent))
		for i, e := range sent {
			out[i] = web.OutboxEmail{To: e.To, Subject: e.Subject, Text: e.Text, SentAt: e.SentAt}
		}
		return out, nil
	}
}

// DataSecrets reads the data directory's signing keys, making them on
// first start (readable by the owner only).
func DataSecrets(dir DataDir) (Secrets, error) {
	path := filepath.Join(string(dir), SecretFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, 64)
		if _, err := rand.Read(b); err != nil {
			return Secrets{}, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return Secrets{}, fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return Secrets{}, fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return Secrets{}, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) != 64 {
		return Secrets{}, fmt.Errorf("%s holds %d bytes, not 64: delete it to make new keys (signing everyone out)", path, len(b))
	}
	return Secrets{Session: b[:32], Objects: b[32:]}, nil
}

// DiskObjectStore keeps objects as files in the data directory; presigned
// URLs point at the app's presign.DefaultURLPrefix handler and stay valid
// across restarts.
func DiskObjectStore(dir DataDir, sec Secrets, clock ports.Clock) (*disk.ObjectStore, error) {
	return disk.NewObjectStore(filepath.Join(string(dir), ObjectsDir),
		presign.Config{URLPrefix: presign.DefaultURLPrefix, Key: sec.Objects, Clock: clock})
}

// DiskArchive is cold storage as files in the data directory, its
// retrievals kept in the database; retrievals started before a restart
// complete and are announced (publishing a restore completion, as Glacier
// does) after it.
func DiskArchive(ctx context.Context, dir DataDir, db *sqlite.DB, clock ports.Clock, bus *message.Bus, o LocalOptions,
	s Settings) (*disk.Archive, func(), error) {
	opts := []disk.ArchiveOption{disk.WithRestoreCallback(restoreNotifier(bus, s))}
	if o.ExpeditedRestore > 0 || o.StandardRestore > 0 {
		opts = append(opts, disk.WithRetrievalTimes(o.ExpeditedRestore, o.StandardRestore))
	}
	a, err := disk.NewArchive(filepath.Join(string(dir), ArchiveDir), clock, sqlite.NewRetrievals(db), opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := a.Start(ctx); err != nil {
		return nil, nil, err
	}
	return a, func() { _ = a.Close() }, nil
}
