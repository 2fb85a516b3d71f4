package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// NotifierPorts are what the notifier talks to.
type NotifierPorts struct {
	Queue    ports.Queue // notify queue (job-results topic)
	Jobs     ports.JobStore
	Users    ports.UserStore // for the owner's e-mail address
	Composer ports.Composer  // renders the notice as an e-mail
	Mailer   ports.Mailer
	Clock    ports.Clock
}

// Notifier e-mails users when their job completed or failed, with a link to
// the job page and, on success, the headline numbers of the summary.
type Notifier struct {
	p NotifierPorts
	c *consumer
}

// NewNotifier checks ports and configuration.
func NewNotifier(p NotifierPorts, cfg Config) (*Notifier, error) {
	if p.Jobs == nil || p.Users == nil || p.Composer == nil || p.Mailer == nil {
		return nil, fmt.Errorf("%w: notifier needs every port", ErrConfig)
	}
	c, err := newConsumer("notify", p.Queue, p.Clock, cfg, message.KindJobResult)
	if err != nil {
		return nil, err
	}
	n := &Notifier{p: p, c: c}
	c.process = n.process
	return n, nil
}

// Run notifies until ctx is cancelled.
func (n *Notifier) Run(ctx context.Context) error { return n.c.run(ctx) }

// Handle processes and settles one delivery.
func (n *Notifier) Handle(ctx context.Context, d ports.Message) error { return n.c.handle(ctx, d) }

// process e-mails the owner of a finished job once, however often the
// result event is delivered (duplicate job requests, topic redelivery,
// concurrent copies):
//
//  1. A job already marked notified is skipped.
//  2. A hold on the notice is taken with a conditional write
//     (domain.Job.BeginNotice) before sending, so of concurrent deliveries
//     only one sends; the others come back after the hold and find the job
//     notified.
//  3. The e-mail is sent, then the job is marked notified (NoticeSent).
//
// Crash ordering: marking after sending is at-least-once. Marking before
// sending would lose the e-mail to a crash in between; a user who is never
// told is worse than one told twice. A second e-mail needs the worker to
// die (or the mark write to fail) in the one store call between the send
// and the mark, and then the hold (cfg.Visibility) to lapse. A send that
// fails gives the hold back so the retry need not wait for it.
func (n *Notifier) process(ctx context.Context, m message.Body, _ ports.Message) error {
	j, err := n.p.Jobs.Get(ctx, m.Job)
	if errors.Is(err, ports.ErrNotFound) {
		n.c.log.WarnContext(ctx, "result for unknown job dropped", "job", m.Job)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load job: %w", err)
	}
	if j.Status() != domain.StatusCompleted && j.Status() != domain.StatusFailed {
		return nil
	}
	if j.Notified() {
		n.c.log.DebugContext(ctx, "owner already notified; duplicate result event dropped", "job", j.ID())
		return nil
	}
	owner, err := n.p.Users.Get(ctx, j.Owner())
	if err != nil {
		return fmt.Errorf("load owner: %w", err)
	}
	now := n.p.Clock.Now()
	held, err := jobs.Mutate(ctx, n.p.Jobs, j.ID(), func(cur *domain.Job) (bool, error) {
		return true, cur.BeginNotice(now, n.c.cfg.Visibility)
	})
	switch {
	case errors.Is(err, domain.ErrAlreadyNotified):
		return nil
	case errors.Is(err, domain.ErrNoticeHeld):
		// Another delivery is sending it: look again once its hold lapses.
		return &retryLater{err: fmt.Errorf("job %s: %w", j.ID(), err), after: held.NoticeHeldUntil().Sub(now) + time.Second}
	case err != nil:
		return fmt.Errorf("hold notice: %w", err)
	}
	hold := held.NoticeHeldUntil()
	if owner.Email() == "" {
		n.c.log.InfoContext(ctx, "owner has no e-mail address; not notified", "job", j.ID(), "user", owner.ID())
		return n.record(ctx, j.ID(), false)
	}
	e, err := n.p.Composer.Compose(domain.NewNotice(j, owner, n.c.cfg.Policy))
	if err == nil {
		err = n.p.Mailer.Send(ctx, e)
	}
	if errors.Is(err, ports.ErrRejected) {
		// Refused for good (an unverified recipient, a suppressed
		// address): retrying cannot help, so the refusal is recorded
		// where the owner will see it, on the job page.
		n.c.log.WarnContext(ctx, "e-mail refused by the mail service; recorded on the job", "job", j.ID(), "err", err)
		return n.recordRejection(ctx, j.ID(), rejection(err))
	}
	if err != nil {
		n.releaseHold(ctx, j.ID(), hold)
		return fmt.Errorf("send e-mail: %w", err)
	}
	return n.record(ctx, j.ID(), true)
}

// rejection is the mail service's reason for refusing an e-mail.
func rejection(err error) string {
	var re *ports.RejectedError
	if errors.As(err, &re) && re.Reason != "" {
		return re.Reason
	}
	return err.Error()
}

// recordRejection marks the job's notice as handled with why it could not
// be delivered.
func (n *Notifier) recordRejection(ctx context.Context, id domain.JobID, reason string) error {
	now := n.p.Clock.Now()
	_, err := jobs.Mutate(context.WithoutCancel(ctx), n.p.Jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Notified() {
			return false, nil
		}
		return true, cur.NoticeRejected(now, reason)
	})
	if err != nil {
		return fmt.Errorf("record refused e-mail: %w", err)
	}
	return nil
}

// record marks the job notified after its e-mail went out (sent), or when
// its owner has no address. It does not listen to shutdown: a mark lost
// between sending and recording is the one way a user is e-mailed twice.
func (n *Notifier) record(ctx context.Context, id domain.JobID, sent bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	now := n.p.Clock.Now()
	change := func(cur *domain.Job) (bool, error) {
		if cur.Notified() {
			return false, nil
		}
		return true, cur.NoticeSent(now)
	}
	var err error
	for range 3 { // a transient store error here would mean a second e-mail later
		if _, err = jobs.Mutate(ctx, n.p.Jobs, id, change); err == nil {
			if sent {
				n.c.log.InfoContext(ctx, "user notified", "job", id)
			}
			return nil
		}
	}
	return fmt.Errorf("record notice (e-mail sent %v): %w", sent, err)
}

// recordTimeout bounds recording a notice after shutdown began.
const recordTimeout = 10 * time.Second

// releaseHold gives up this delivery's hold after a failed send, unless
// another delivery has taken a new hold meanwhile. A failure only delays
// the retry until the hold lapses, so it is logged, not returned.
func (n *Notifier) releaseHold(ctx context.Context, id domain.JobID, mine time.Time) {
	_, err := jobs.Mutate(context.WithoutCancel(ctx), n.p.Jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Notified() || !cur.NoticeHeldUntil().Equal(mine) {
			return false, nil
		}
		return true, cur.ReleaseNotice()
	})
	if err != nil {
		n.c.log.WarnContext(ctx, "could not release notice hold; the retry waits for it to lapse", "job", id, "err", err)
	}
}
