package providers

import (
	"github.com/gasproject/gas/adapters/email"
	"github.com/gasproject/gas/adapters/tarball"
	"log/slog"

	"github.com/google/wire"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// Settings are the deployment's choices every service needs: the tier
// policy, object-key prefixes, the site's address and the logger.
type Settings struct {
	Policy        domain.Policy
	InputPrefix   string // default InputPrefix
	ResultPrefix  string // default "results/"
	ArchivePrefix string // default "archive/"
	BaseURL       string
	Logger        *slog.Logger
}

// withDefaults fills empty prefixes and the logger.
func (s Settings) withDefaults() Settings {
	if s.InputPrefix == "" {
		s.InputPrefix = InputPrefix
	}
	if s.ResultPrefix == "" {
		s.ResultPrefix = "results/"
	}
	if s.ArchivePrefix == "" {
		s.ArchivePrefix = "archive/"
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s
}

// Composer renders notices as e-mails linking back to the site.
func Composer(s Settings) (ports.Composer, error) { return email.NewComposer(s.BaseURL) }

// ServicesSet provides the use-case services from ports, a *Messaging and
// Settings: every app (local, AWS roles) builds them the same way.
var ServicesSet = wire.NewSet(JobsService, AccountsService, ArchivalService, Composer)

// JobsService is the job use cases; requests go to the job-requests topic.
func JobsService(store ports.JobStore, users ports.UserStore, objects ports.ObjectStore, m *Messaging,
	clock ports.Clock, ids ports.IDs, s Settings) (*jobs.Service, error) {
	s = s.withDefaults()
	return jobs.NewService(store, users, objects, m.Topics.JobRequests, clock, ids, jobs.Config{
		Policy: s.Policy, InputPrefix: s.InputPrefix, ResultPrefix: s.ResultPrefix, Logger: s.Logger,
	})
}

// AccountsService is the profile and plan use cases; upgrades publish to
// the thaw-requests topic.
func AccountsService(users ports.UserStore, billing ports.Billing, m *Messaging, clock ports.Clock, s Settings) *accounts.Service {
	return accounts.NewService(users, billing, m.Topics.ThawRequests, clock).WithLogger(s.withDefaults().Logger)
}

// ArchivalService is the archive/restore protocols; polling checks go to
// the restore queue.
func ArchivalService(store ports.JobStore, users ports.UserStore, objects ports.ObjectStore, archive ports.Archive,
	m *Messaging, clock ports.Clock, s Settings) (*archival.Service, error) {
	s = s.withDefaults()
	return archival.NewService(archival.Ports{Jobs: store, Users: users, Objects: objects, Archive: archive,
		Bundler: tarball.New(objects), Restores: m.Queues.Restore, Clock: clock}, archival.Config{
		Policy: s.Policy, ArchivePrefix: s.ArchivePrefix, Logger: s.Logger,
	})
}
