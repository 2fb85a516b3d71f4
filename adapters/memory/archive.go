package memory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// RestoreCompletion tells whoever listens (the restore-completions topic,
// through the callback the wiring installs) that a retrieval has finished.
type RestoreCompletion struct {
	RetrievalID string
	ArchiveID   string
	Tier        domain.RetrievalTier
}

// Archive is cold storage for local mode: it keeps bytes (tar or
// anything else) under a key and makes retrievals take time — per tier, on
// the injected clock — so users see RESTORING and the restorer's polling
// and notification paths both run. RefuseExpedited makes it answer like
// Glacier out of Expedited capacity, to exercise the Standard fallback.
type Archive struct {
	blobs      *memBlobs
	clock      ports.Clock
	ids        ports.IDs
	times      map[domain.RetrievalTier]time.Duration
	onRestored func(context.Context, RestoreCompletion) error

	mu         sync.Mutex
	refuse     bool
	closed     bool
	retrievals map[string]*retrieval
}

type retrieval struct {
	archiveID string
	tier      domain.RetrievalTier
	readyAt   time.Time
	stop      func() bool
}

// ArchiveOption configures a MemoryArchive.
type ArchiveOption func(*Archive) error

// WithRetrievalTimes sets how long Expedited and Standard retrievals take
// (by default domain.DefaultPolicy's expectations: 5 minutes and 5 hours).
func WithRetrievalTimes(expedited, standard time.Duration) ArchiveOption {
	return func(a *Archive) error {
		if expedited < 0 || standard < 0 {
			return fmt.Errorf("negative retrieval time")
		}
		a.times[domain.RetrievalExpedited], a.times[domain.RetrievalStandard] = expedited, standard
		return nil
	}
}

// WithRestoreCallback calls f (in its own goroutine) when a retrieval
// completes, as Glacier notifies an SNS topic; the wiring publishes a
// restore-completion message from it. A failed callback is only logged:
// the restorer's polling fallback still finds the retrieval.
func WithRestoreCallback(f func(context.Context, RestoreCompletion) error) ArchiveOption {
	return func(a *Archive) error {
		if f == nil {
			return fmt.Errorf("nil restore callback")
		}
		a.onRestored = f
		return nil
	}
}

// WithArchiveIDs sets how retrieval ids are made (RandomIDs by default).
func WithArchiveIDs(ids ports.IDs) ArchiveOption {
	return func(a *Archive) error {
		if ids == nil {
			return fmt.Errorf("nil ids")
		}
		a.ids = ids
		return nil
	}
}

// NewArchive makes an empty archive whose retrievals run on clock.
func NewArchive(clock ports.Clock, opts ...ArchiveOption) (*Archive, error) {
	if clock == nil {
		return nil, fmt.Errorf("memory archive: nil clock")
	}
	p := domain.DefaultPolicy()
	a := &Archive{
		blobs: newMemBlobs(), clock: clock, ids: RandomIDs{},
		times:      map[domain.RetrievalTier]time.Duration{domain.RetrievalExpedited: p.ExpeditedRestore, domain.RetrievalStandard: p.StandardRestore},
		retrievals: map[string]*retrieval{},
	}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, fmt.Errorf("memory archive: %w", err)
		}
	}
	return a, nil
}

// RefuseExpedited makes later Expedited requests fail with
// ports.ErrNoExpeditedCapacity (true) or succeed again (false).
func (a *Archive) RefuseExpedited(refuse bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuse = refuse
}

// Put streams r into cold storage under key. The archive id is the key
// itself, so a retried archive of the same job overwrites its earlier copy
// instead of orphaning it.
func (a *Archive) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	if err := presign.CheckKey(key); err != nil {
		return "", fmt.Errorf("archive %s: %w", key, err)
	}
	if _, err := a.blobs.put(ctx, key, r, -1, a.clock.Now()); err != nil {
		return "", fmt.Errorf("archive %s: %w", key, err)
	}
	return key, nil
}

// InitiateRestore starts a retrieval of archiveID at tier that completes
// after the tier's retrieval time; ErrNotFound for an unknown archive,
// ErrNoExpeditedCapacity for Expedited while refusing.
func (a *Archive) InitiateRestore(ctx context.Context, archiveID string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	if tier != domain.RetrievalExpedited && tier != domain.RetrievalStandard {
		return ports.Retrieval{}, fmt.Errorf("restore %s: unknown tier %q", archiveID, tier)
	}
	if _, err := a.blobs.head(archiveID); err != nil {
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ports.Retrieval{}, fmt.Errorf("restore %s: archive closed", archiveID)
	}
	if tier == domain.RetrievalExpedited && a.refuse {
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, ports.ErrNoExpeditedCapacity)
	}
	id := "retrieval-" + a.ids.NewID()
	rt := &retrieval{archiveID: archiveID, tier: tier, readyAt: a.clock.Now().Add(a.times[tier])}
	a.retrievals[id] = rt
	if a.onRestored != nil {
		done := RestoreCompletion{RetrievalID: id, ArchiveID: archiveID, Tier: tier}
		rt.stop = atFunc(a.clock, rt.readyAt, func() { a.notify(done) })
	}
	return ports.Retrieval{ID: id, Tier: tier}, nil
}

func (a *Archive) notify(c RestoreCompletion) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return
	}
	if err := a.onRestored(context.Background(), c); err != nil {
		slog.Warn("restore completion not delivered; polling will find it", "retrieval", c.RetrievalID, "archive", c.ArchiveID, "err", err)
	}
}

// RestoreStatus reports whether the retrieval's time has passed, and its tier.
func (a *Archive) RestoreStatus(ctx context.Context, retrievalID string) (ports.RestoreStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rt, ok := a.retrievals[retrievalID]
	if !ok {
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, ports.ErrNotFound)
	}
	return ports.RestoreStatus{Done: !a.clock.Now().Before(rt.readyAt), Tier: rt.tier}, nil
}

// ErrRestoreInProgress is returned by OpenRestored before the retrieval is done.
var ErrRestoreInProgress = errors.New("retrieval has not completed")

// OpenRestored reads a completed retrieval's bytes. It reads the archive as
// it is now, so ErrNotFound once the archive has been deleted.
func (a *Archive) OpenRestored(ctx context.Context, retrievalID string) (io.ReadCloser, error) {
	a.mu.Lock()
	rt, ok := a.retrievals[retrievalID]
	a.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, ports.ErrNotFound)
	}
	if a.clock.Now().Before(rt.readyAt) {
		return nil, fmt.Errorf("open retrieval %s: %w (ready at %s)", retrievalID, ErrRestoreInProgress, rt.readyAt.Format(time.RFC3339))
	}
	f, _, err := a.blobs.open(rt.archiveID)
	if err != nil {
		return nil, fmt.Errorf("open retrieval %s of %s: %w", retrievalID, rt.archiveID, err)
	}
	return f, nil
}

// Delete removes an archive; deleting a missing one is not an error.
func (a *Archive) Delete(ctx context.Context, archiveID string) error {
	a.blobs.remove(archiveID)
	return nil
}

// Close cancels pending completion callbacks, so a stopped local server
// (or a finished test) leaves no timers behind.
func (a *Archive) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, rt := range a.retrievals {
		if rt.stop != nil {
			rt.stop()
		}
	}
	return nil
}

var _ ports.Archive = (*Archive)(nil)
