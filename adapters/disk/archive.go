package disk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Retrieval is one retrieval from the archive: which archive, at which
// tier, when it completes, and whether its completion was announced.
type Retrieval struct {
	ID        string
	ArchiveID string
	Tier      domain.RetrievalTier
	ReadyAt   time.Time
	Notified  bool
}

// Retrievals is the archive's bookkeeping (adapters/sqlite in local mode):
// it outlives the process, so a retrieval started before a crash still
// completes, and is still announced, after the restart.
type Retrievals interface {
	Add(ctx context.Context, r Retrieval) error
	// Get returns a retrieval; ports.ErrNotFound if there is none.
	Get(ctx context.Context, id string) (Retrieval, error)
	// Pending lists retrievals whose completion was not announced.
	Pending(ctx context.Context) ([]Retrieval, error)
	MarkNotified(ctx context.Context, id string) error
}

// Archive is local mode's cold storage (ports.Archive): archives are files
// (as objects are) and retrievals take time per tier, so users see
// RESTORING and the restorer's notification and polling paths both run.
// When a retrieval's time comes the archive calls its completion callback,
// as Glacier notifies a topic; Start re-arms the callbacks of retrievals a
// previous process started.
type Archive struct {
	files      files
	clock      ports.Clock
	log        Retrievals
	times      map[domain.RetrievalTier]time.Duration
	onRestored func(ctx context.Context, archiveID string) error

	mu     sync.Mutex
	refuse bool
	closed bool
	timers map[string]func() bool
}

// ArchiveOption configures an Archive.
type ArchiveOption func(*Archive) error

// WithRetrievalTimes sets how long Expedited and Standard retrievals take
// (by default domain.DefaultPolicy's expectations).
func WithRetrievalTimes(expedited, standard time.Duration) ArchiveOption {
	return func(a *Archive) error {
		if expedited < 0 || standard < 0 {
			return fmt.Errorf("negative retrieval time")
		}
		a.times[domain.RetrievalExpedited], a.times[domain.RetrievalStandard] = expedited, standard
		return nil
	}
}

// WithRestoreCallback calls f (in its own goroutine) with the archive id
// when a retrieval completes; the wiring publishes a restore completion
// from it. Once f succeeds the retrieval is marked announced; a failure is
// logged and left to the restorer's polling.
func WithRestoreCallback(f func(ctx context.Context, archiveID string) error) ArchiveOption {
	return func(a *Archive) error {
		if f == nil {
			return fmt.Errorf("nil restore callback")
		}
		a.onRestored = f
		return nil
	}
}

// NewArchive keeps archives under dir and retrievals in log, timed by clock.
func NewArchive(dir string, clock ports.Clock, log Retrievals, opts ...ArchiveOption) (*Archive, error) {
	if clock == nil || log == nil {
		return nil, fmt.Errorf("disk archive: a clock and a retrieval log are required")
	}
	f, err := openFiles(dir)
	if err != nil {
		return nil, err
	}
	p := domain.DefaultPolicy()
	a := &Archive{files: f, clock: clock, log: log, timers: map[string]func() bool{},
		times: map[domain.RetrievalTier]time.Duration{domain.RetrievalExpedited: p.ExpeditedRestore, domain.RetrievalStandard: p.StandardRestore}}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, fmt.Errorf("disk archive: %w", err)
		}
	}
	return a, nil
}

// Start arms the completion callbacks of retrievals not yet announced
// (those a previous process started); overdue ones fire at once.
func (a *Archive) Start(ctx context.Context) error {
	if a.onRestored == nil {
		return nil
	}
	pending, err := a.log.Pending(ctx)
	if err != nil {
		return fmt.Errorf("disk archive: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range pending {
		a.armLocked(r)
	}
	if len(pending) > 0 {
		slog.Info("cold storage: retrievals resumed", "retrievals", len(pending))
	}
	return nil
}

// RefuseExpedited makes later Expedited requests fail with
// ports.ErrNoExpeditedCapacity (true) or succeed again (false).
func (a *Archive) RefuseExpedited(refuse bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuse = refuse
}

// Put streams r into cold storage under key, which is also the archive
// id, so a retried archive of the same job overwrites its earlier copy.
func (a *Archive) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	if _, err := a.files.put(ctx, key, r, -1, a.clock.Now()); err != nil {
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
	fh, _, err := a.files.open(archiveID)
	if err != nil {
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, err)
	}
	fh.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return ports.Retrieval{}, fmt.Errorf("restore %s: archive closed", archiveID)
	case tier == domain.RetrievalExpedited && a.refuse:
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, ports.ErrNoExpeditedCapacity)
	}
	r := Retrieval{ID: "retrieval-" + strings.ToLower(rand.Text()), ArchiveID: archiveID, Tier: tier,
		ReadyAt: a.clock.Now().Add(a.times[tier])}
	if err := a.log.Add(ctx, r); err != nil {
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, err)
	}
	a.armLocked(r)
	return ports.Retrieval{ID: r.ID, Tier: tier}, nil
}

// alarmClock is a clock that can call back at a time (memory's system and
// fake clocks both can), so retrievals follow a fake clock in tests.
type alarmClock interface {
	AtFunc(t time.Time, f func()) (stop func() bool)
}

func (a *Archive) armLocked(r Retrieval) {
	if a.onRestored == nil || a.closed {
		return
	}
	fire := func() { a.announce(r) }
	if ac, ok := a.clock.(alarmClock); ok {
		a.timers[r.ID] = ac.AtFunc(r.ReadyAt, fire)
	} else {
		a.timers[r.ID] = time.AfterFunc(r.ReadyAt.Sub(a.clock.Now()), fire).Stop
	}
}

func (a *Archive) announce(r Retrieval) {
	a.mu.Lock()
	closed := a.closed
	delete(a.timers, r.ID)
	a.mu.Unlock()
	if closed {
		return
	}
	ctx := context.Background()
	if err := a.onRestored(ctx, r.ArchiveID); err != nil {
		slog.Warn("restore completion not delivered; polling will find it", "retrieval", r.ID, "archive", r.ArchiveID, "err", err)
		return
	}
	if err := a.log.MarkNotified(ctx, r.ID); err != nil {
		slog.Warn("restore completion delivered but not recorded; it may be announced again", "retrieval", r.ID, "err", err)
	}
}

// RestoreStatus reports whether the retrieval's time has passed, and its tier.
func (a *Archive) RestoreStatus(ctx context.Context, retrievalID string) (ports.RestoreStatus, error) {
	r, err := a.log.Get(ctx, retrievalID)
	if err != nil {
		return ports.RestoreStatus{}, fmt.Errorf("restore status: %w", err)
	}
	return ports.RestoreStatus{Done: !a.clock.Now().Before(r.ReadyAt), Tier: r.Tier}, nil
}

// ErrRestoreInProgress is returned by OpenRestored before the retrieval is done.
var ErrRestoreInProgress = errors.New("retrieval has not completed")

// OpenRestored reads a completed retrieval's bytes: the archive as it is
// now, so ErrNotFound once the archive has been deleted.
func (a *Archive) OpenRestored(ctx context.Context, retrievalID string) (io.ReadCloser, error) {
	r, err := a.log.Get(ctx, retrievalID)
	if err != nil {
		return nil, fmt.Errorf("open retrieval: %w", err)
	}
	if a.clock.Now().Before(r.ReadyAt) {
		return nil, fmt.Errorf("open retrieval %s: %w (ready at %s)", retrievalID, ErrRestoreInProgress, r.ReadyAt.Format(time.RFC3339))
	}
	fh, info, err := a.files.open(r.ArchiveID)
	if err != nil {
		return nil, fmt.Errorf("open retrieval %s of %s: %w", retrievalID, r.ArchiveID, err)
	}
	return newSection(fh, info.Size, 0, -1), nil
}

// Delete removes an archive; deleting a missing one is not an error.
func (a *Archive) Delete(ctx context.Context, archiveID string) error {
	if err := a.files.remove(archiveID); err != nil {
		return fmt.Errorf("delete archive %s: %w", archiveID, err)
	}
	return nil
}

// Close cancels pending completion callbacks; the retrievals stay in the
// log and Start re-arms them in the next process.
func (a *Archive) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, stop := range a.timers {
		stop()
	}
	clear(a.timers)
	return nil
}

var _ ports.Archive = (*Archive)(nil)
