package providers

import (
	"log/slog"

	"github.com/gasproject/gas/adapters/email"
	"github.com/gasproject/gas/adapters/tarball"

	"github.com/google/wire"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Settings are the deployment's choices every service needs: the tier
// policy, object-key prefixes, the site's address and the logger.
type Settings struct {
	Policy        domain.Policy
	InputPrefix   string // default "inputs/"
	ResultPrefix  string // default "results/"
	ArchivePrefix string // default "archive/"
	BaseURL       string
	// References name the annotation databases jobs may ask for, the
	// default first (none: any name is passed on to the annotators).
	References []string
	Logger     *slog.Logger
}

// withDefaults fills empty prefixes and the logger.
func (s Settings) withDefaults() Settings {
	if s.InputPrefix == "" {
		s.InputPrefix = "inputs/"
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

// WebServicesSet provides the use-case services the web application
// drives, from ports, the *message.Bus and Settings; ArchivalService is the
// archive-side workers'. Every app (local mode, AWS roles) builds them so.
var WebServicesSet = wire.NewSet(JobsService, JobManager, AccountsService)

// JobsService is the job use cases; requests go straight to the annotate
// queue, in their user's message group, and a late restore's retry to the
// restore-completions topic.
func JobsService(store ports.JobStore, users ports.UserStore, objects ports.ObjectStore, bus *message.Bus,
	clock ports.Clock, ids ports.IDs, s Settings) (*jobs.Service, error) {
	s = s.withDefaults()
	svc, err := jobs.NewService(store, users, objects, bus.Queue(message.QueueAnnotate), clock, ids, jobs.Config{
		Policy: s.Policy, InputPrefix: s.InputPrefix, ResultPrefix: s.ResultPrefix, References: s.References, Logger: s.Logger,
	})
	if err != nil {
		return nil, err
	}
	return svc.WithRestoreChecks(bus.Topic(message.TopicRestoreCompletions)), nil
}

// JobManager is the owners' housekeeping of their jobs (delete with every
// object, cold copies included; rename; search).
func JobManager(store ports.JobStore, objects ports.ObjectStore, archive ports.Archive, s Settings) (*jobs.Manager, error) {
	return jobs.NewManager(store, objects, archive, s.withDefaults().Logger)
}

// AccountsService is the profile and plan use cases under the policy's
// upgrade policy; upgrades publish to the thaw-requests topic.
func AccountsService(users ports.UserStore, billing ports.Billing, bus *message.Bus, clock ports.Clock, s Settings) *accounts.Service {
	return accounts.NewService(users, billing, bus.Topic(message.TopicThawRequests), clock).
		WithLogger(s.withDefaults().Logger).WithUpgrades(s.Policy.Upgrades)
}

// ArchivalService is the archive/restore protocols; polling checks go to
// the restore queue.
func ArchivalService(store ports.JobStore, users ports.UserStore, objects ports.ObjectStore, archive ports.Archive,
	bus *message.Bus, clock ports.Clock, s Settings) (*archival.Service, error) {
	s = s.withDefaults()
	return archival.NewService(archival.Ports{Jobs: store, Users: users, Objects: objects, Archive: archive,
		Bundler: tarball.New(objects), Restores: bus.Queue(message.QueueRestore), Clock: clock}, archival.Config{
		Policy: s.Policy, ArchivePrefix: s.ArchivePrefix, Logger: s.Logger,
	})
}
