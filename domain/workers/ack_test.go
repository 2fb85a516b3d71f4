package workers_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/tarball"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
	"github.com/gasproject/gas/ports/mocks"
)

// These tests drive single workers with moq fakes around the in-memory
// adapters and fail one dependency at a time. In every case the delivery
// must not be acknowledged (no Queue.Delete), because its effects are not
// all durable, and the state must be one a redelivery can finish from.

var errDown = errors.New("dependency down")

// ackQueue is a queue fake that records acknowledgements and reschedules.
func ackQueue() *mocks.QueueMock {
	return &mocks.QueueMock{
		DeleteFunc:           func(context.Context, string) error { return nil },
		ExtendVisibilityFunc: func(context.Context, string, time.Duration) error { return nil },
		SendFunc:             func(context.Context, ports.Outgoing) error { return nil },
	}
}

func delivery(m message.Body) ports.Message {
	return ports.Message{ID: "m1", Body: m.Encode(), Receipt: "r1", Receives: 1}
}

// failingJobs fails Update when fail says so for the job being written.
func failingJobs(w *world, fail func(j *domain.Job) bool) *mocks.JobStoreMock {
	return &mocks.JobStoreMock{
		GetFunc:           w.jobStore.Get,
		CreateFunc:        w.jobStore.Create,
		ListByUserFunc:    w.jobStore.ListByUser,
		ListByStorageFunc: w.jobStore.ListByStorage,
		UpdateFunc: func(ctx context.Context, j *domain.Job) (*domain.Job, error) {
			if fail(j) {
				return nil, errDown
			}
			return w.jobStore.Update(ctx, j)
		},
	}
}

func objectsMock(w *world) *mocks.ObjectStoreMock {
	return &mocks.ObjectStoreMock{
		PutFunc: w.objects.Put, GetFunc: w.objects.Get, HeadFunc: w.objects.Head, DeleteFunc: w.objects.Delete,
		GetRangeFunc: w.objects.GetRange,
	}
}

func publisherMock(err error) *mocks.PublisherMock {
	return &mocks.PublisherMock{PublishFunc: func(context.Context, []byte) error { return err }}
}

func uploaded(t *testing.T, w *world, user string) *domain.Job {
	t.Helper()
	w.signIn(user)
	j, err := w.jobsSvc.Upload(w.ctx, domain.UserID(user), "a.vcf", strings.NewReader(inputFor(1)))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

type runnerCase struct {
	name    string
	jobs    func(w *world) ports.JobStore
	objects func(w *world) ports.ObjectStore
	results ports.Publisher
	archive *mocks.QueueMock
	// want is the job's status after the failed delivery.
	want domain.Status
}

func TestRunnerAcknowledgesOnlyDurableEffects(t *testing.T) {
	cases := []runnerCase{
		{name: "claim write fails", want: domain.StatusPending,
			jobs: func(w *world) ports.JobStore {
				return failingJobs(w, func(j *domain.Job) bool { return j.Status() == domain.StatusRunning })
			}},
		{name: "result store fails", want: domain.StatusPending,
			objects: func(w *world) ports.ObjectStore {
				m := objectsMock(w)
				m.PutFunc = func(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
					io.Copy(io.Discard, r)
					return ports.ObjectInfo{}, errDown
				}
				return m
			}},
		{name: "completion write fails", want: domain.StatusRunning,
			jobs: func(w *world) ports.JobStore {
				return failingJobs(w, func(j *domain.Job) bool { return j.Status() == domain.StatusCompleted })
			}},
		{name: "result event publish fails", want: domain.StatusCompleted, results: publisherMock(errDown)},
		{name: "archive schedule fails", want: domain.StatusCompleted,
			archive: &mocks.QueueMock{SendFunc: func(context.Context, ports.Outgoing) error { return errDown }}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			j := uploaded(t, w, "ada")
			p := workers.RunnerPorts{Jobs: w.jobStore, Users: w.users, Objects: w.objects, Annotator: w.annotatorOver(w.objects),
				Clock: w.clock, Results: publisherMock(nil), Archives: ackQueue()}
			if c.jobs != nil {
				p.Jobs = c.jobs(w)
			}
			if c.objects != nil {
				p.Objects = c.objects(w)
				p.Annotator = w.annotatorOver(p.Objects)
			}
			if c.results != nil {
				p.Results = c.results
			}
			if c.archive != nil {
				p.Archives = c.archive
			}
			q := ackQueue()
			p.Requests = q
			r, err := workers.NewRunner(p, w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada"))); err == nil {
				t.Fatal("failure not reported")
			}
			if n := len(q.DeleteCalls()); n != 0 {
				t.Fatalf("delivery acknowledged %d times before its effects were durable", n)
			}
			if ext := q.ExtendVisibilityCalls(); len(ext) != 1 || ext[0].D <= 0 {
				t.Fatalf("delivery not rescheduled with a backoff: %+v", ext)
			}
			if got := w.job(j.ID()).Status(); got != c.want {
				t.Fatalf("job %s, want %s", got, c.want)
			}
		})
	}
}

// Each successful step is acknowledged exactly once, after its effects.
func TestRunnerAcknowledgesAfterCompletion(t *testing.T) {
	w := newWorld(t)
	j := uploaded(t, w, "ada")
	q, archives, results := ackQueue(), ackQueue(), publisherMock(nil)
	var order []string
	q.DeleteFunc = func(context.Context, string) error { order = append(order, "ack"); return nil }
	archives.SendFunc = func(context.Context, ports.Outgoing) error {
		order = append(order, "schedule archive")
		return nil
	}
	results.PublishFunc = func(context.Context, []byte) error { order = append(order, "publish result"); return nil }
	w.jobStore.onUpdate = func(_, after domain.JobSnapshot) {
		if after.Status == domain.StatusCompleted {
			order = append(order, "record completion")
		}
	}
	r, err := workers.NewRunner(workers.RunnerPorts{Requests: q, Archives: archives, Results: results, Jobs: w.jobStore,
		Users: w.users, Objects: w.objects, Annotator: w.annotatorOver(w.objects), Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada"))); err != nil {
		t.Fatal(err)
	}
	want := "record completion,schedule archive,publish result,ack"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
	if d := archives.SendCalls()[0].M.Delay; d != w.policy.FreeWindow {
		t.Fatalf("archive delayed %s, want the free window %s", d, w.policy.FreeWindow)
	}
}

// archivalWith builds the archival service over mocks that delegate to the world.
func archivalWith(t *testing.T, w *world, jobs ports.JobStore, objects ports.ObjectStore, arch ports.Archive, restores ports.Queue) *archival.Service {
	t.Helper()
	s, err := archival.NewService(archival.Ports{Jobs: jobs, Users: w.users, Objects: objects, Archive: arch,
		Bundler: tarball.New(objects), Restores: restores, Clock: w.clock}, archival.Config{Policy: w.policy, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func archiveMock(w *world) *mocks.ArchiveMock {
	return &mocks.ArchiveMock{PutFunc: w.archive.Put, InitiateRestoreFunc: w.archive.InitiateRestore,
		RestoreStatusFunc: w.archive.RestoreStatus, OpenRestoredFunc: w.archive.OpenRestored, DeleteFunc: w.archive.Delete}
}

func TestArchiverAcknowledgesOnlyDurableEffects(t *testing.T) {
	for _, name := range []string{"cold storage put fails", "archive record fails"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.signIn("ada")
			j := w.uploadAndRun("ada", 2)
			w.clock.Advance(w.policy.FreeWindow + time.Second)
			objects, arch := objectsMock(w), archiveMock(w)
			var store ports.JobStore = w.jobStore
			if name == "cold storage put fails" {
				arch.PutFunc = func(_ context.Context, _ string, r io.Reader) (string, error) {
					io.Copy(io.Discard, r)
					return "", errDown
				}
			} else {
				store = failingJobs(w, func(j *domain.Job) bool { return j.Storage() == domain.StorageArchived })
			}
			q := ackQueue()
			a, err := workers.NewArchiver(q, archivalWith(t, w, store, objects, arch, ackQueue()), w.clock, w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Handle(w.ctx, delivery(message.ArchiveJob(j.ID(), j.CompletedAt().Add(w.policy.FreeWindow)))); err == nil {
				t.Fatal("failure not reported")
			}
			if len(q.DeleteCalls()) != 0 || len(objects.DeleteCalls()) != 0 {
				t.Fatalf("acknowledged %d times, deleted %d hot objects", len(q.DeleteCalls()), len(objects.DeleteCalls()))
			}
			if got := w.job(j.ID()); got.Storage() != domain.StorageAvailable {
				t.Fatalf("job %s", got.Storage())
			}
			assertResultKept(t, w, j.ID())
		})
	}
}

// archived prepares a job whose results are in cold storage and whose owner upgraded.
func archived(t *testing.T, w *world) *domain.Job {
	t.Helper()
	w.signIn("ada")
	j := w.uploadAndRun("ada", 1)
	w.passWindowAndArchive()
	if _, err := w.accounts.Upgrade(w.ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if got := w.job(j.ID()); got.Storage() != domain.StorageArchived {
		t.Fatalf("setup: %s", got.Storage())
	}
	return w.job(j.ID())
}

func TestThawerAcknowledgesOnlyDurableEffects(t *testing.T) {
	for _, name := range []string{"initiate fails", "check schedule fails", "record fails"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			j := archived(t, w)
			arch, restores := archiveMock(w), ackQueue()
			var store ports.JobStore = w.jobStore
			switch name {
			case "initiate fails":
				arch.InitiateRestoreFunc = func(context.Context, string, domain.RetrievalTier) (ports.Retrieval, error) {
					return ports.Retrieval{}, errDown
				}
			case "check schedule fails":
				restores.SendFunc = func(context.Context, ports.Outgoing) error { return errDown }
			case "record fails":
				store = failingJobs(w, func(j *domain.Job) bool { return j.Storage() == domain.StorageRestoring })
			}
			q := ackQueue()
			th, err := workers.NewThawer(q, archivalWith(t, w, store, objectsMock(w), arch, restores), w.clock, w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := th.Handle(w.ctx, delivery(message.ThawUser("ada"))); err == nil {
				t.Fatal("failure not reported")
			}
			if len(q.DeleteCalls()) != 0 {
				t.Fatal("thaw acknowledged before the restore was recorded")
			}
			got := w.job(j.ID())
			if name == "check schedule fails" && got.Storage() != domain.StorageArchived {
				t.Fatalf("restore recorded without a scheduled check: %s", got.Storage())
			}
			if name == "record fails" && len(restores.SendCalls()) != 1 {
				t.Fatal("the check carrying the retrieval must be scheduled before the record")
			}
		})
	}
}

func TestRestorerAcknowledgesOnlyDurableEffects(t *testing.T) {
	for _, name := range []string{"write back fails", "restore record fails", "archive delete fails"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			j := archived(t, w)
			w.mustDeliver(qThaw)
			w.clock.Advance(w.policy.ExpeditedRestore)
			objects, arch := objectsMock(w), archiveMock(w)
			var store ports.JobStore = w.jobStore
			switch name {
			case "write back fails":
				objects.PutFunc = func(_ context.Context, _ string, r io.Reader) (ports.ObjectInfo, error) {
					io.Copy(io.Discard, r)
					return ports.ObjectInfo{}, errDown
				}
			case "restore record fails":
				store = failingJobs(w, func(j *domain.Job) bool { return j.Storage() == domain.StorageAvailable })
			case "archive delete fails":
				arch.DeleteFunc = func(context.Context, string) error { return errDown }
			}
			q := ackQueue()
			r, err := workers.NewRestorer(q, archivalWith(t, w, store, objects, arch, ackQueue()), w.clock, w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Handle(w.ctx, delivery(message.RestoreCompleted(j.ID()))); err == nil {
				t.Fatal("failure not reported")
			}
			if len(q.DeleteCalls()) != 0 {
				t.Fatal("restore acknowledged before its effects were durable")
			}
			got := w.job(j.ID())
			if name != "archive delete fails" {
				if len(arch.DeleteCalls()) != 0 || got.Storage() != domain.StorageRestoring {
					t.Fatalf("archive copy deleted (%d) or state moved (%s) before the restore was recorded", len(arch.DeleteCalls()), got.Storage())
				}
			} else if got.Storage() != domain.StorageAvailable || got.ArchiveID() == "" {
				t.Fatalf("archive id forgotten though its copy was not deleted: %s %q", got.Storage(), got.ArchiveID())
			}
			assertResultKept(t, w, j.ID())
		})
	}
}

func TestNotifierAcknowledgesOnlySentMail(t *testing.T) {
	w := newWorld(t)
	w.signIn("ada")
	j := w.uploadAndRun("ada", 2)
	q := ackQueue()
	n, err := workers.NewNotifier(workers.NotifierPorts{Queue: q, Jobs: w.jobStore, Users: w.users,
		Composer: testComposer,
		Mailer:   &mocks.MailerMock{SendFunc: func(context.Context, ports.Email) error { return errDown }}, Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle(w.ctx, delivery(message.JobResult(j.ID(), "ada"))); err == nil || len(q.DeleteCalls()) != 0 {
		t.Fatalf("err %v, %d acknowledgements", err, len(q.DeleteCalls()))
	}
}

func TestDeadLettersAcknowledgeOnlyAnnouncedFailures(t *testing.T) {
	w := newWorld(t)
	j := uploaded(t, w, "ada")
	q := ackQueue()
	d, err := workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: q, Origin: ackQueue(), Parked: ackQueue(), Results: publisherMock(errDown),
		Jobs: w.jobStore, Clock: w.clock}, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Handle(w.ctx, delivery(message.JobRequest(j.ID(), "ada"))); err == nil || len(q.DeleteCalls()) != 0 {
		t.Fatalf("err %v, %d acknowledgements", err, len(q.DeleteCalls()))
	}
	if got := w.job(j.ID()); got.Status() != domain.StatusFailed {
		t.Fatalf("job %s", got.Status())
	}
}

// Malformed bodies can never succeed: they are dropped (acknowledged), not retried.
func TestMalformedMessagesAreDropped(t *testing.T) {
	w := newWorld(t)
	q := ackQueue()
	a, _ := workers.NewArchiver(q, w.ports(nil).archival(), w.clock, w.cfg)
	for _, body := range []string{"not json", `{"kind":"archive-job"}`, `{"kind":"thaw-user","user_id":"u"}`} {
		if err := a.Handle(w.ctx, ports.Message{ID: "m", Body: []byte(body), Receipt: "r"}); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	if len(q.DeleteCalls()) != 3 {
		t.Fatalf("%d of 3 malformed messages dropped", len(q.DeleteCalls()))
	}
}
