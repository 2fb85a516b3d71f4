package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/email"

	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
	"github.com/gasproject/gas/ports/mocks"
)

// emailsAbout counts the e-mails that link job id.
func (w *world) emailsAbout(id domain.JobID) int {
	n := 0
	for _, e := range w.outbox.Sent() {
		if strings.Contains(e.Text, email.JobURL(testBaseURL, id)+"\n") {
			n++
		}
	}
	return n
}

// A duplicated request for a job that completed and whose owner was told
// is dropped: the runner publishes no second result event, and even a
// second event would not e-mail the owner again.
func TestDuplicateRequestForCompletedJobSendsOneEmail(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 1 {
		t.Fatalf("%d e-mails", n)
	}
	if err := w.queues[qAnnotate].Send(w.ctx, ports.Outgoing{Body: message.JobRequest(j.ID(), "ada").Encode()}); err != nil {
		t.Fatal(err)
	}
	w.mustDeliver(qAnnotate)
	republished := w.stats(qNotify) != (ports.QueueStats{})
	if err := w.queues[qNotify].Send(w.ctx, ports.Outgoing{Body: message.JobResult(j.ID(), "ada").Encode()}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 1 {
		t.Fatalf("owner e-mailed %d times", n)
	}
	if republished || !w.job(j.ID()).Notified() {
		t.Fatalf("result event published again for a notified job: %v (notified %v)", republished, w.job(j.ID()).Notified())
	}
}

// A request redelivered for a job that completed before its follow-ups
// were made (the runner died after the completion write) still makes them:
// the owner is told once and the archive is scheduled.
func TestRedeliveredRequestMakesMissingFollowUps(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j, _ := w.jobsSvc.Upload(w.ctx, "ada", "a.vcf", strings.NewReader(inputFor(1)))
	m, _ := w.receive(qAnnotate)
	// Die right after the completion write (Get, Update, Get owner, Get input, Put VCF, Put index, Put summary, Put log, Get owner, Update).
	if err := w.ports(newInjector(11, 0)).handler(qAnnotate)(w.ctx, m); err == nil {
		t.Fatal("the crash was not reported")
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusCompleted || w.stats(qNotify) != (ports.QueueStats{}) {
		t.Fatalf("setup: %s, notify queue %+v", got.Status(), w.stats(qNotify))
	}
	w.clock.Advance(w.cfg.Visibility)
	w.mustDeliver(qAnnotate)
	if s := w.stats(qArchive); s.Delayed != 1 {
		t.Fatalf("archive not scheduled: %+v", s)
	}
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 1 || !w.job(j.ID()).Notified() {
		t.Fatalf("%d e-mails", n)
	}
}

// Two copies of a result event handled at the same time: the first takes
// the hold on the notice; the second does not send but comes back after
// the hold and finds the owner told. One e-mail.
func TestConcurrentResultEventsSendOneEmail(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	if err := w.queues[qNotify].Send(w.ctx, ports.Outgoing{Body: message.JobResult(j.ID(), "ada").Encode()}); err != nil {
		t.Fatal(err)
	}
	first, _ := w.receive(qNotify)
	second, _ := w.receive(qNotify)
	// Park the first after its hold is written (Get job, Get owner, Get, Update hold, then send).
	inj := newInjector(0, 5)
	done := make(chan error, 1)
	go func() { done <- w.ports(inj).handler(qNotify)(w.ctx, first) }()
	select {
	case <-inj.parked:
	case err := <-done:
		t.Fatalf("first copy finished without parking after its hold: %v, %d e-mails", err, w.emailsAbout(j.ID()))
	}
	if !strings.HasPrefix(inj.log[len(inj.log)-1], "mailer.Send") {
		t.Fatalf("parked at %q", inj.log)
	}
	err := w.ports(nil).handler(qNotify)(w.ctx, second)
	if err == nil || w.emailsAbout(j.ID()) != 0 {
		t.Fatalf("second copy during the hold: %v, %d e-mails", err, w.emailsAbout(j.ID()))
	}
	inj.resume <- true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(w.cfg.Visibility + time.Second)
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 1 || !w.job(j.ID()).Notified() {
		t.Fatalf("owner e-mailed %d times", n)
	}
}

// A notifier dying between sending and recording leaves the hold; the
// redelivery waits for it to lapse and sends again. This is the documented
// at-least-once window: a second e-mail rather than none.
func TestNotifierCrashAfterSendingSendsAgainAfterTheHold(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	m, _ := w.receive(qNotify)
	// Die at the first call after the send (Get job, Get owner, Get, Update hold, Get summary, [send], Get).
	inj := newInjector(6, 0)
	if err := w.ports(inj).handler(qNotify)(w.ctx, m); err == nil || w.emailsAbout(j.ID()) != 1 {
		t.Fatalf("crash after sending: %v, %d e-mails (calls %q)", err, w.emailsAbout(j.ID()), inj.log)
	}
	w.clock.Advance(w.cfg.Visibility / 2)
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 1 {
		t.Fatalf("sent again inside the hold: %d e-mails", n)
	}
	w.clock.Advance(w.cfg.Visibility)
	w.settle()
	if n := w.emailsAbout(j.ID()); n != 2 || !w.job(j.ID()).Notified() {
		t.Fatalf("after the hold: %d e-mails, notified %v", n, w.job(j.ID()).Notified())
	}
}

// A failed send gives the hold back: the retry sends at once.
func TestFailedSendReleasesTheHold(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	q := ackQueue()
	n, err := workers.NewNotifier(workers.NotifierPorts{Queue: q, Jobs: w.jobStore, Users: w.users,
		Composer: testComposer,
		Mailer:   &mocks.MailerMock{SendFunc: func(context.Context, ports.Email) error { return errDown }}, Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle(w.ctx, delivery(message.JobResult(j.ID(), "ada"))); err == nil {
		t.Fatal("failed send not reported")
	}
	if got := w.job(j.ID()); got.Notified() || !got.NoticeHeldUntil().IsZero() {
		t.Fatalf("after a failed send: notified %v, held until %s", got.Notified(), got.NoticeHeldUntil())
	}
	w.mustDeliver(qNotify)
	if n := w.emailsAbout(j.ID()); n != 1 || !w.job(j.ID()).Notified() {
		t.Fatalf("retry: %d e-mails", n)
	}
}

// An owner without an address cannot be told; the job is marked so that
// duplicates and redelivered requests stop there.
func TestOwnerWithoutEmailIsMarkedNotified(t *testing.T) {
	w := newWorld(t)
	if _, err := w.accounts.SignIn(w.ctx, ports.Identity{Subject: "ada", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	j := w.uploadAndRun("ada", 1)
	w.mustDeliver(qNotify)
	if got := w.job(j.ID()); !got.Notified() || len(w.outbox.Sent()) != 0 {
		t.Fatalf("notified %v, %d e-mails", got.Notified(), len(w.outbox.Sent()))
	}
}

// A dead-lettered request for a job whose owner was told needs nothing
// more: it is dropped, not sent back to the runner.
func TestDeadLetteredRequestForNotifiedJobIsDropped(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.mustDeliver(qNotify)
	origin := ackQueue()
	q := ackQueue()
	d, err := workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: q, Origin: origin, Parked: ackQueue(), Results: publisherMock(nil),
		Jobs: w.jobStore, Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada"))); err != nil {
		t.Fatal(err)
	}
	if len(origin.SendCalls()) != 0 || len(q.DeleteCalls()) != 1 {
		t.Fatalf("%d redrives, %d acknowledgements", len(origin.SendCalls()), len(q.DeleteCalls()))
	}
}
