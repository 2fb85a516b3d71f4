package providers

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// awsWorld is a deployment on the test server with the AWS adapters the
// roles use, every SDK call passing through a fault injector.
type awsWorld struct {
	t       *testing.T
	ctx     context.Context
	env     *awstest.Env
	faults  *awsfault.Injector
	cfg     workers.Config
	store   ports.JobStore
	users   ports.UserStore
	objects ports.ObjectStore
	bus     *message.Bus
	svc     *archival.Service
	rt      *role.Runtime
}

func newAWSWorld(t *testing.T) *awsWorld {
	t.Helper()
	faults := &awsfault.Injector{}
	c := awstest.Config(t)
	c.MaxReceives = 2 // dead letters after two deliveries, so an outage of seconds parks them
	env, _ := awstest.DeploymentWith(t, c, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(faults)))
	pol := domain.DefaultPolicy()
	pol.ExpeditedRestore, pol.StandardRestore = time.Second, 2*time.Second
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &awsWorld{t: t, ctx: awstest.Ctx(t), env: env, faults: faults,
		cfg: workers.Config{Policy: pol, ResultPrefix: "results/", Visibility: 30 * time.Second, Wait: time.Second,
			Heartbeat: -1, RetryDelay: time.Second, RedriveDelay: time.Second, MaxRedrives: 1,
			ReconcileGrace: time.Second, Logger: log},
		rt: &role.Runtime{Log: log, Metrics: nil},
	}
	s := Settings{Policy: pol, Logger: log}.withDefaults()
	var err error
	cl := env.Clients
	if w.store, err = AWSJobStore(cl, c); err != nil {
		t.Fatal(err)
	}
	if w.users, err = AWSUserStore(cl, c); err != nil {
		t.Fatal(err)
	}
	if w.objects, err = AWSObjectStore(cl, c, s); err != nil {
		t.Fatal(err)
	}
	archive, err := AWSArchive(w.ctx, cl, c)
	if err != nil {
		t.Fatal(err)
	}
	if w.bus, err = AWSMessages(w.ctx, cl, c, awsWallClock{}, s); err != nil {
		t.Fatal(err)
	}
	if w.svc, err = ArchivalService(w.store, w.users, w.objects, archive, w.bus, awsWallClock{}, s); err != nil {
		t.Fatal(err)
	}
	return w
}

// reconcile runs one reconciliation over the AWS adapters.
func (w *awsWorld) reconcile() workers.Report {
	w.t.Helper()
	r, err := workers.NewReconciler(workers.ReconcilerPorts{Jobs: w.store, Users: w.users,
		Results: w.bus.Topic(message.TopicJobResults),
		Thaws:   w.bus.Topic(message.TopicThawRequests), Restores: w.bus.Topic(message.TopicRestoreCompletions),
		Archives: w.bus.Queue(message.QueueArchive), Annotate: w.bus.Queue(message.QueueAnnotate), Clock: awsWallClock{}},
		w.cfg, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	rep, err := r.Reconcile(w.ctx, false)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// archivedJob makes a completed job of a free user, archives it to S3
// Glacier, and upgrades the user: ARCHIVED results of a premium user.
func (w *awsWorld) archivedJob(user domain.UserID) *domain.Job {
	w.t.Helper()
	u, _ := domain.NewUser(user, "Ada", string(user)+"@example.org", "", time.Now())
	must(w.t, w.users.Create(w.ctx, u))
	j, _ := domain.NewJob(domain.JobID("job-"+awstest.Unique()), user, "a.vcf", jobs.InputKey("inputs/", user, "x"), 10, time.Now())
	must(w.t, w.store.Create(w.ctx, j))
	keys := jobs.ResultKeys("results/", user, j.ID(), "v1")
	for _, k := range []string{keys.VCF, keys.Index} {
		if _, err := w.objects.Put(w.ctx, k, strings.NewReader("result "+k)); err != nil {
			w.t.Fatal(err)
		}
	}
	_, err := jobs.Mutate(w.ctx, w.store, j.ID(), func(j *domain.Job) (bool, error) {
		if err := j.Claim(time.Now(), time.Minute, 3); err != nil {
			return false, err
		}
		if err := j.Complete(time.Now(), keys, "ref", domain.Counts{}); err != nil {
			return false, err
		}
		// a free owner's results, scheduled as the runner schedules them
		return true, j.ScheduleArchive(j.CompletedAt())
	})
	must(w.t, err)
	must(w.t, w.svc.Archive(w.ctx, j.ID()))
	u, err = w.users.Get(w.ctx, user)
	must(w.t, err)
	must(w.t, u.Upgrade(time.Now()))
	_, err = w.users.Update(w.ctx, u)
	must(w.t, err)
	got, err := w.store.Get(w.ctx, j.ID())
	must(w.t, err)
	if got.Storage() != domain.StorageArchived {
		w.t.Fatalf("setup: job %s", got.Storage())
	}
	return got
}

// deliverAll hands every message of queue to h until none arrives within a
// second, or until stop says so.
func (w *awsWorld) deliverAll(queue ports.Queue, h func(context.Context, ports.Message) error) int {
	n := 0
	for {
		ms, err := queue.Receive(w.ctx, 1, w.cfg.Visibility, time.Second)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(ms) == 0 {
			return n
		}
		_ = h(w.ctx, ms[0])
		n++
	}
}

func (w *awsWorld) job(id domain.JobID) *domain.Job {
	w.t.Helper()
	j, err := w.store.Get(w.ctx, id)
	must(w.t, err)
	return j
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestoresConvergeAfterAColdStorageOutageOnAWS: S3 is unreachable for
// the archive bucket while a premium user's restores run: every restore
// message fails, dead-letters (after two deliveries), is redriven once and
// parked on the parked queue with its reason. Once the outage ends, one
// reconciliation re-checks the overdue restores and the restorer brings
// the results back.
func TestRestoresConvergeAfterAColdStorageOutageOnAWS(t *testing.T) {
	w := newAWSWorld(t)
	var ids []domain.JobID
	for i := range 2 {
		ids = append(ids, w.archivedJob(domain.UserID("ada"+string(rune('a'+i)))).ID())
	}
	for _, id := range ids {
		must(t, w.svc.Thaw(w.ctx, w.job(id).Owner()))
	}
	end := w.faults.Outage(awsfault.Path("/"+w.env.Config.Names.ArchiveBucket+"/"), -1)
	restorer, err := workers.NewRestorer(w.bus.Queue(message.QueueRestore), w.svc, awsWallClock{}, w.cfg)
	must(t, err)
	dead, err := workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: w.bus.DeadLetter(message.QueueRestore),
		Origin: w.bus.Queue(message.QueueRestore), Queue: message.QueueRestore, Parked: w.bus.Parked(),
		Results: w.bus.Topic(message.TopicJobResults), Jobs: w.store, Clock: awsWallClock{}}, w.cfg)
	must(t, err)
	deadline := time.Now().Add(90 * time.Second)
	for parked := 0; parked < len(ids); {
		if time.Now().After(deadline) {
			t.Fatalf("restore messages not parked during the outage (%d parked)", parked)
		}
		w.deliverAll(w.bus.Queue(message.QueueRestore), restorer.Handle)
		w.deliverAll(w.bus.DeadLetter(message.QueueRestore), dead.Handle)
		st, err := w.bus.Parked().Stats(w.ctx)
		must(t, err)
		parked = st.Visible
	}
	end()
	ms, err := w.bus.Parked().Receive(w.ctx, 1, time.Minute, time.Second)
	must(t, err)
	if m, err := message.Decode(ms[0].Body); err != nil || m.Queue != message.QueueRestore || !strings.Contains(m.Reason, "redrives") {
		t.Fatalf("parked message %s: %v", ms[0].Body, err)
	}
	for _, id := range ids {
		if j := w.job(id); j.Storage() != domain.StorageRestoring {
			t.Fatalf("job %s after the outage: %s", id, j.Storage())
		}
	}
	time.Sleep(w.cfg.ReconcileGrace + time.Second) // one grace past the expected restore
	rep := w.reconcile()
	if rep.Found[domain.FindingRestoreOverdue] != len(ids) {
		t.Fatalf("reconciler found %v, want %d overdue restores", rep.Found, len(ids))
	}
	w.deliverAll(w.bus.Queue(message.QueueRestore), restorer.Handle)
	for _, id := range ids {
		if j := w.job(id); j.Storage() != domain.StorageAvailable || j.ArchiveID() != "" {
			t.Fatalf("job %s after reconciling: %s archive %q", id, j.Storage(), j.ArchiveID())
		}
	}
}

// laggingIndex hides jobs written in the last lag from ListByStorage, as
// DynamoDB's global secondary index lags behind the table.
type laggingIndex struct {
	ports.JobStore
	lag     time.Duration
	mu      sync.Mutex
	written map[domain.JobID]time.Time
}

func (l *laggingIndex) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	out, err := l.JobStore.Update(ctx, j)
	if err == nil {
		l.mu.Lock()
		l.written[j.ID()] = time.Now()
		l.mu.Unlock()
	}
	return out, err
}

func (l *laggingIndex) ListByStorage(ctx context.Context, u domain.UserID, st domain.Storage) ([]*domain.Job, error) {
	js, err := l.JobStore.ListByStorage(ctx, u, st)
	l.mu.Lock()
	defer l.mu.Unlock()
	var seen []*domain.Job
	for _, j := range js {
		if at, ok := l.written[j.ID()]; !ok || time.Since(at) >= l.lag {
			seen = append(seen, j)
		}
	}
	return seen, err
}

// TestLaggingIndexOnAWS: a job archived a moment before its owner's thaw
// is missing from the by-owner-storage index the thaw lists (a wrapper
// hides recent writes, as a lagging GSI does; moto's are instant). The
// reconciler reads the table itself (a consistent Scan), finds the premium
// user's ARCHIVED job, and has it restored.
func TestLaggingIndexOnAWS(t *testing.T) {
	w := newAWSWorld(t)
	lag := &laggingIndex{JobStore: w.store, lag: time.Hour, written: map[domain.JobID]time.Time{}}
	w.store = lag
	s := Settings{Policy: w.cfg.Policy, Logger: w.cfg.Logger}.withDefaults()
	archive, err := AWSArchive(w.ctx, w.env.Clients, w.env.Config)
	must(t, err)
	if w.svc, err = ArchivalService(lag, w.users, w.objects, archive, w.bus, awsWallClock{}, s); err != nil {
		t.Fatal(err)
	}
	j := w.archivedJob("grace")
	must(t, w.svc.Thaw(w.ctx, "grace"))
	if got := w.job(j.ID()); got.Storage() != domain.StorageArchived {
		t.Fatalf("the thaw should have missed the job: %s", got.Storage())
	}
	time.Sleep(w.cfg.ReconcileGrace + time.Second)
	if rep := w.reconcile(); rep.Found[domain.FindingArchivedPremium] != 1 {
		t.Fatalf("reconciler found %v, want the archived job of the premium user", rep.Found)
	}
	thawer, err := workers.NewThawer(w.bus.Queue(message.QueueThaw), w.svc, awsWallClock{}, w.cfg)
	must(t, err)
	if n := w.deliverAll(w.bus.Queue(message.QueueThaw), thawer.Handle); n != 1 {
		t.Fatalf("%d thaw messages", n)
	}
	restorer, err := workers.NewRestorer(w.bus.Queue(message.QueueRestore), w.svc, awsWallClock{}, w.cfg)
	must(t, err)
	for deadline := time.Now().Add(20 * time.Second); w.job(j.ID()).Storage() != domain.StorageAvailable; {
		if time.Now().After(deadline) {
			t.Fatalf("after reconciling: %s", w.job(j.ID()).Storage())
		}
		w.deliverAll(w.bus.Queue(message.QueueRestore), restorer.Handle)
	}
}

// TestRefusedNoticeOnAWS: SES refuses the owner's address for good
// (MessageRejected, as in the SES sandbox; injected, since moto accepts
// every recipient). The notifier records the refusal on the job, where the
// page shows it, acknowledges the result event, and the reconciler finds
// nothing left to send.
func TestRefusedNoticeOnAWS(t *testing.T) {
	w := newAWSWorld(t)
	sender := "gas-" + awstest.Unique() + "@example.org"
	if _, err := w.env.Clients.SES.CreateEmailIdentity(w.ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: &sender}); err != nil {
		t.Fatal(err)
	}
	c := w.env.Config
	c.MailFrom = sender
	mailer, err := AWSMailer(w.env.Clients, c)
	must(t, err)
	composer, err := Composer(Settings{BaseURL: "https://gas.test"})
	must(t, err)
	u, _ := domain.NewUser("sandboxed", "Sam", "sam@unverified.example", "", time.Now())
	must(t, w.users.Create(w.ctx, u))
	j, _ := domain.NewJob("notice-1", "sandboxed", "a.vcf", "inputs/sandboxed/notice-1/input", 1, time.Now().Add(-time.Hour))
	must(t, w.store.Create(w.ctx, j))
	_, err = jobs.Mutate(w.ctx, w.store, j.ID(), func(j *domain.Job) (bool, error) {
		if err := j.Claim(time.Now(), time.Minute, 3); err != nil {
			return false, err
		}
		_, err := j.Fail(time.Now(), "line 1: not a VCF", true, 3)
		return true, err
	})
	must(t, err)
	const why = "Email address is not verified. The following identities failed the check in region US-EAST-1: sam@unverified.example"
	w.faults.Respond(awsfault.All(awsfault.Path("/outbound-emails"), awsfault.BodyContains("sam@unverified.example")), -1, 400,
		"application/json", map[string]string{"X-Amzn-Errortype": "MessageRejected"}, `{"message":"`+why+`"}`)
	notifier, err := workers.NewNotifier(workers.NotifierPorts{Queue: w.bus.Queue(message.QueueNotify), Jobs: w.store,
		Users: w.users, Composer: composer, Mailer: mailer, Clock: awsWallClock{}}, w.cfg)
	must(t, err)
	must(t, message.Publish(w.ctx, w.bus.Topic(message.TopicJobResults), message.JobResult(j.ID(), "sandboxed")))
	if n := w.deliverAll(w.bus.Queue(message.QueueNotify), notifier.Handle); n != 1 {
		t.Fatalf("%d deliveries of the result event, want 1 (acknowledged, not retried)", n)
	}
	got := w.job(j.ID())
	if !got.Notified() || got.NoticeError() != why {
		t.Fatalf("notified %v, notice error %q", got.Notified(), got.NoticeError())
	}
	time.Sleep(w.cfg.ReconcileGrace + time.Second)
	if rep := w.reconcile(); rep.Total() != 0 {
		t.Fatalf("reconciler found %v after a refused notice", rep.Found)
	}
}
