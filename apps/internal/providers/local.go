package providers

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// LocalOptions tune local mode's backends, durable or in memory.
type LocalOptions struct {
	// ExpeditedRestore and StandardRestore are how long the local cold
	// storage takes per retrieval tier.
	ExpeditedRestore, StandardRestore time.Duration
}

// LocalObjects is an object store that serves its own presigned requests
// (memory and disk, through adapters/presign); local mode mounts Handler.
type LocalObjects interface {
	ports.ObjectStore
	Handler() http.Handler
}

// OutboxReader lists the e-mails local mode kept for a user (the outbox page).
type OutboxReader func(ctx context.Context, user domain.UserID) ([]web.OutboxEmail, error)

// JobCounter counts jobs by status for /metrics.
type JobCounter interface {
	Counts(ctx context.Context) (map[domain.Status]int, error)
}

// Secrets are the keys local mode signs with: web sessions and presigned
// object URLs. Durable local mode keeps them in the data directory, so
// cookies and links survive restarts; ephemeral mode makes new ones.
type Secrets struct {
	Session, Objects []byte
}

// EphemeralSecrets are random keys for one process.
func EphemeralSecrets() (Secrets, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return Secrets{}, err
	}
	return Secrets{Session: b[:32], Objects: b[32:]}, nil
}

// restoreNotifier publishes, like Glacier's notification, a restore
// completion for the job whose archive key (jobs.ArchiveKey) a finished
// retrieval read, on the topology's cold-storage topic.
func restoreNotifier(bus *message.Bus, s Settings) func(ctx context.Context, archiveID string) error {
	prefix := s.withDefaults().ArchivePrefix
	cold, _ := bus.Topology().ColdStorageTopic()
	notices := bus.Topic(cold.Name)
	return func(ctx context.Context, archiveID string) error {
		job, ok := jobs.JobOfArchiveKey(prefix, archiveID)
		if !ok {
			return fmt.Errorf("restore completion for unrecognised archive %q", archiveID)
		}
		return message.Publish(ctx, notices, message.RestoreCompleted(job))
	}
}
