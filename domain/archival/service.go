// Package archival implements ARCHITECTURE.md's archive and restore
// protocols: moving a free user's results to cold storage after the download
// window, and bringing every archived result of a user back when they
// upgrade. Each step is ordered so a crash anywhere loses nothing and each
// is idempotent, because the workers calling it get messages at least once.
package archival

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Config is the deployment's choices for archiving.
type Config struct {
	// Policy gives the expected retrieval times recorded for users.
	Policy domain.Policy
	// ArchivePrefix is prepended to cold-storage keys ("archive/").
	ArchivePrefix string
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
}

// ErrRestorePending is returned by Restore while the retrieval is still
// running; the polling restorer checks again later.
var ErrRestorePending = errors.New("retrieval still in progress")

// errRetrievalGone means cold storage no longer knows a retrieval: its
// restored copy expired before it was written back, or the retrieval was
// lost. Waiting for it is pointless; a new one must be started.
var errRetrievalGone = errors.New("cold storage no longer knows the retrieval")

// errStale means the job changed under a step in a way that makes the
// step's result unwanted (another worker got there first); not a failure.
var errStale = errors.New("job changed concurrently")

// Service runs the archive and restore protocols against the ports.
type Service struct {
	jobs     ports.JobStore
	users    ports.UserStore
	objects  ports.ObjectStore
	archive  ports.Archive
	bundler  ports.Bundler
	restores ports.Queue
	clock    ports.Clock
	cfg      Config
	log      *slog.Logger
}

// Ports are what the protocols talk to.
type Ports struct {
	Jobs    ports.JobStore
	Users   ports.UserStore
	Objects ports.ObjectStore
	Archive ports.Archive
	// Bundler packs results for cold storage over the same Objects.
	Bundler ports.Bundler
	// Restores is the restore queue, where the polling fallback's checks
	// are scheduled.
	Restores ports.Queue
	Clock    ports.Clock
}

// NewService wires the protocols.
func NewService(p Ports, cfg Config) (*Service, error) {
	if p.Jobs == nil || p.Users == nil || p.Objects == nil || p.Archive == nil || p.Bundler == nil || p.Restores == nil || p.Clock == nil {
		return nil, errors.New("archival service: every port is required")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("archival service: %w", err)
	}
	if cfg.ArchivePrefix == "" {
		cfg.ArchivePrefix = "archive/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{jobs: p.Jobs, users: p.Users, objects: p.Objects, archive: p.Archive, bundler: p.Bundler,
		restores: p.Restores, clock: p.Clock, cfg: cfg, log: log.With("service", "archival")}, nil
}

func (s *Service) premium(ctx context.Context, user domain.UserID) (bool, error) {
	u, err := s.users.Get(ctx, user)
	if err != nil {
		return false, fmt.Errorf("load owner %s: %w", user, err)
	}
	return u.Premium(), nil
}

func (s *Service) deleteHot(ctx context.Context, keys domain.ResultKeys) error {
	for _, k := range []string{keys.VCF, keys.Index} {
		if k == "" {
			continue
		}
		if err := s.objects.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete hot copy %s: %w", k, err)
		}
	}
	return nil
}

func (s *Service) deleteQuietly(ctx context.Context, keys domain.ResultKeys) {
	if err := s.deleteHot(ctx, keys); err != nil {
		s.log.WarnContext(ctx, "could not delete unreferenced restored copy", "key", keys.VCF, "err", err)
	}
}
