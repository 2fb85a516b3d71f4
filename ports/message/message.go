// Package message is GAS's messaging contract: the JSON bodies workers
// exchange through queues and topics, the one rule for scheduling them in
// the future, and the topology (topology.go) that says which topics feed
// which queues, how each dead-letters and which role consumes it. It is its
// own small package because the services that send messages (jobs,
// accounts, archival), the workers that consume them (domain/workers) and
// the adapters that make the queues must agree without importing each
// other.
package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Kind says what a message asks for, so a dead-letter handler can tell
// bodies apart and a worker can refuse one that was routed to it by mistake.
type Kind string

// The message kinds of the topology in the contract.
const (
	// KindJobRequest asks the annotator runner to run a job (sent to the annotate queue in its user's group).
	KindJobRequest Kind = "job-request"
	// KindJobResult tells the notifier a job reached COMPLETED or FAILED (job-results topic).
	KindJobResult Kind = "job-result"
	// KindArchive asks the archiver to archive a free user's results once Due.
	KindArchive Kind = "archive-job"
	// KindThaw asks the thawer to restore every archived job of a user.
	KindThaw Kind = "thaw-user"
	// KindRestore says a job's retrieval may be complete: a completion
	// notification, or (Poll set) the polling fallback's scheduled check.
	KindRestore Kind = "restore-job"
)

// MaxDelay is the longest delay a queue accepts (SQS: 15 minutes). Messages
// due later are sent with MaxDelay and re-delayed on receipt until due.
const MaxDelay = 900 * time.Second

// ErrMalformed is wrapped for bodies that are not a valid message; no retry
// can fix them, so workers drop them with an error log.
var ErrMalformed = errors.New("malformed message")

// Body is every body GAS sends. One flat shape keeps the wire format
// obvious; Decode checks that each kind carries the fields it needs.
type Body struct {
	Kind Kind          `json:"kind"`
	Job  domain.JobID  `json:"job_id,omitempty"`
	User domain.UserID `json:"user_id,omitempty"`
	// Due is when the message should be acted upon; earlier deliveries are
	// re-delayed. Zero means at once.
	Due time.Time `json:"due,omitzero"`
	// Poll marks a restore check of the polling fallback, which schedules
	// the next check while the retrieval is still running.
	Poll bool `json:"poll,omitempty"`
	// Retrieval, Archive and Tier describe the retrieval a restore check
	// was scheduled for (Due is when it is expected), so the check can
	// record it itself if the thawer died before doing so.
	Retrieval string               `json:"retrieval_id,omitempty"`
	Archive   string               `json:"archive_id,omitempty"`
	Tier      domain.RetrievalTier `json:"tier,omitempty"`
	// Redrives counts how often the dead-letter handler sent this message
	// back to its queue, bounding retries of a message that keeps failing.
	Redrives int `json:"redrives,omitempty"`
	// Queue, Reason and ParkedAt describe a parked dead letter: the queue
	// it failed on, why it was given up, and when.
	Queue    string    `json:"queue,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	ParkedAt time.Time `json:"parked_at,omitzero"`
}

// JobRequest asks for job id of user to be annotated.
func JobRequest(id domain.JobID, user domain.UserID) Body {
	return Body{Kind: KindJobRequest, Job: id, User: user}
}

// JobResult announces that job id of user reached a terminal status.
func JobResult(id domain.JobID, user domain.UserID) Body {
	return Body{Kind: KindJobResult, Job: id, User: user}
}

// ArchiveJob asks for job id to be archived at due.
func ArchiveJob(id domain.JobID, due time.Time) Body {
	return Body{Kind: KindArchive, Job: id, Due: due.UTC()}
}

// ThawUser asks for every archived job of user to be restored.
func ThawUser(user domain.UserID) Body {
	return Body{Kind: KindThaw, User: user}
}

// ThawJob asks for one archived job of user to be restored: the
// reconciler's repair for a job a thaw missed (a lagging index, a thaw
// request lost), checked against the job itself rather than a listing.
func ThawJob(user domain.UserID, id domain.JobID) Body {
	return Body{Kind: KindThaw, User: user, Job: id}
}

// RestoreCompleted says the retrieval of job id has finished (cold storage
// notifications are translated into this by their adapter).
func RestoreCompleted(id domain.JobID) Body {
	return Body{Kind: KindRestore, Job: id}
}

// RestoreCheck is the polling fallback: look at job id's retrieval at due.
func RestoreCheck(id domain.JobID, due time.Time) Body {
	return Body{Kind: KindRestore, Job: id, Due: due.UTC(), Poll: true}
}

// RetrievalCheck is the first check of a retrieval just initiated: it is
// scheduled before the retrieval is recorded on the job and carries what
// recording needs, so no crash can leave a recorded retrieval unchecked.
func RetrievalCheck(id domain.JobID, retrieval, archiveID string, tier domain.RetrievalTier, expected time.Time) Body {
	m := RestoreCheck(id, expected)
	m.Retrieval, m.Archive, m.Tier = retrieval, archiveID, tier
	return m
}

// Encode renders the message as its JSON body.
func (m Body) Encode() []byte {
	b, err := json.Marshal(m)
	if err != nil { // cannot happen: every field is plain data
		return nil
	}
	return b
}

// Decode parses and validates a body.
func Decode(body []byte) (Body, error) {
	var m Body
	if err := json.Unmarshal(body, &m); err != nil {
		return Body{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch m.Kind {
	case KindJobRequest, KindJobResult, KindArchive, KindRestore:
		if m.Job == "" {
			return Body{}, fmt.Errorf("%w: %s without job_id", ErrMalformed, m.Kind)
		}
	case KindThaw:
		if m.User == "" {
			return Body{}, fmt.Errorf("%w: %s without user_id", ErrMalformed, m.Kind)
		}
	default:
		return Body{}, fmt.Errorf("%w: unknown kind %q", ErrMalformed, m.Kind)
	}
	return m, nil
}

// String names the message in logs.
func (m Body) String() string {
	if m.Job != "" {
		return fmt.Sprintf("%s %s", m.Kind, m.Job)
	}
	return fmt.Sprintf("%s %s", m.Kind, m.User)
}

// Publish sends m to a topic.
func Publish(ctx context.Context, p ports.Publisher, m Body) error {
	if err := p.Publish(ctx, m.Encode()); err != nil {
		return fmt.Errorf("publish %s: %w", m, err)
	}
	return nil
}

// Schedule sends m to q so that it arrives when due: at once if Due is not
// after now, else after the remaining time capped at MaxDelay (the receiver
// re-delays it until due, see Remaining). It goes in its user's group.
func Schedule(ctx context.Context, q ports.Queue, m Body, now time.Time) error {
	if err := q.Send(ctx, ports.Outgoing{Body: m.Encode(), Delay: m.Remaining(now), Group: m.Group()}); err != nil {
		return fmt.Errorf("schedule %s: %w", m, err)
	}
	return nil
}

// Group is the tenant m belongs to on a shared queue: the user it is
// about, so a fair queue serves every user's requests in turn ("" when m
// names no user).
func (m Body) Group() string { return string(m.User) }

// Remaining is the delay to send m with at now: zero when due, else the
// time left capped at MaxDelay.
func (m Body) Remaining(now time.Time) time.Duration {
	d := m.Due.Sub(now)
	switch {
	case m.Due.IsZero() || d <= 0:
		return 0
	case d > MaxDelay:
		return MaxDelay
	}
	return d
}

// Early reports whether m was delivered before it is due and must be re-delayed.
func (m Body) Early(now time.Time) bool { return !m.Due.IsZero() && now.Before(m.Due) }
