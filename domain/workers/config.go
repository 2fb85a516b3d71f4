// Package workers holds GAS's background workers: the annotator runner,
// archiver, thawer, restorer, notifier and dead-letter handler, each a
// loop over one queue built on the same consumer (consume.go), which decodes
// messages, re-delays early ones, keeps deliveries invisible while they are
// worked on, and acknowledges only after a step's effects are durable; and
// the reconciler (reconcile.go), which scans the stores and re-issues the
// messages a failure lost.
package workers

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gasproject/gas/domain"
)

// Config is the workers' shared tuning. Zero values take the defaults noted.
type Config struct {
	// Policy is the tier rules (attempts, lease, free window).
	Policy domain.Policy
	// ResultPrefix is where the runner writes results ("results/").
	ResultPrefix string
	// Visibility hides a received message from other workers (default:
	// twice the policy lease, at least one minute).
	Visibility time.Duration
	// Wait is the long-poll wait of each receive (default 20 s).
	Wait time.Duration
	// Heartbeat is the real-time interval at which a worker extends the
	// visibility of the message it works on, and the runner its job lease
	// (default a third of the shorter of visibility and lease). Negative
	// disables heartbeats (deterministic tests).
	Heartbeat time.Duration
	// MaxHold is how long a worker holds one delivery before handing its
	// message over to a fresh copy and going on (SQS hides a delivery at
	// most 12 hours from its receipt, after which a long job's message
	// would reappear while it runs). Default 11 h; it must stay under 12 h.
	MaxHold time.Duration
	// Concurrency is how many messages one worker handles at once (default
	// 1): the runner's slots, which its Dispatcher shares out among users.
	Concurrency int
	// Lookahead is how many deliveries the runner's Dispatcher holds for
	// users at their in-flight cap before its slots stop receiving (default
	// 1000).
	Lookahead int
	// RetryDelay is the first backoff after a failed step; it doubles per
	// delivery up to the queue's maximum delay (default 10 s).
	RetryDelay time.Duration
	// PollInterval is how often the restorer re-checks a retrieval that was
	// not done when expected (default 1 min).
	PollInterval time.Duration
	// RedriveDelay is how long the dead-letter handler waits before sending
	// a failed message back to its queue (default 5 min).
	RedriveDelay time.Duration
	// MaxRedrives bounds those resends (default 3).
	MaxRedrives int
	// ReconcileInterval is how often the reconciler scans the stores
	// (default 5 min).
	ReconcileInterval time.Duration
	// ReconcileGrace is how long a message may take to act before the
	// reconciler re-issues it: a job idle or finished that long, results
	// that long past their window or expected restore (default 10 min).
	ReconcileGrace time.Duration
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
}

// DefaultMaxHold leaves an hour of SQS's 12-hour visibility cap for the
// hand-over (see Config.MaxHold).
const DefaultMaxHold = 11 * time.Hour

// The reconciler's defaults (Config.ReconcileInterval, ReconcileGrace).
const (
	DefaultReconcileInterval = 5 * time.Minute
	DefaultReconcileGrace    = 10 * time.Minute
)

// ErrConfig is wrapped by constructors refusing a configuration.
var ErrConfig = errors.New("invalid pipeline configuration")

func (c Config) withDefaults() (Config, error) {
	if err := c.Policy.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Visibility <= 0 {
		c.Visibility = max(2*c.Policy.Lease, time.Minute)
	}
	if c.Wait <= 0 {
		c.Wait = 20 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = min(c.Visibility, c.Policy.Lease) / 3
	}
	if c.MaxHold <= 0 {
		c.MaxHold = DefaultMaxHold
	}
	if c.MaxHold >= 12*time.Hour {
		return c, fmt.Errorf("%w: max hold %s must be under SQS's 12 hours", ErrConfig, c.MaxHold)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Lookahead <= 0 {
		c.Lookahead = 1000
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Minute
	}
	if c.RedriveDelay <= 0 {
		c.RedriveDelay = 5 * time.Minute
	}
	if c.MaxRedrives <= 0 {
		c.MaxRedrives = 3
	}
	if c.ReconcileInterval <= 0 {
		c.ReconcileInterval = DefaultReconcileInterval
	}
	if c.ReconcileGrace <= 0 {
		c.ReconcileGrace = DefaultReconcileGrace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
