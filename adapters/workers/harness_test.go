package workers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/gasproject/gas/adapters/email"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/tarball"
	"github.com/gasproject/gas/adapters/vartable"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// The queues of the contract's topology, each with a dead-letter queue.
const (
	qAnnotate = "annotate"
	qNotify   = "notify"
	qArchive  = "archive"
	qThaw     = "thaw"
	qRestore  = "restore"
)

var queueNames = []string{qAnnotate, qNotify, qArchive, qThaw, qRestore}

func dlq(name string) string { return name + "-dlq" }

const maxReceives = 5

// world is the whole system on the in-memory adapters and a fake clock.
// Workers are built per delivery (cheaply) so each can get its own fault
// injector, the way each real worker is its own process.
type world struct {
	t        testing.TB
	ctx      context.Context
	clock    *memory.FakeClock
	jobStore *trackedJobs
	users    *memory.UserStore
	objects  *memory.ObjectStore
	archive  *trackedArchive
	outbox   *memory.Outbox
	queues   map[string]*memory.Queue
	parked   *memory.Queue // dead letters whose redrives are spent
	// lose, if set, decides which publishes and sends are silently lost.
	lose      func(what string) bool
	topics    map[string][]string // topic -> subscribed queue names
	policy    domain.Policy
	cfg       workers.Config
	annotator *fakeAnnotator
	jobsSvc   *jobs.Service
	accounts  *accounts.Service
}

// Topics of the contract, as the queues they fan out to.
const (
	tResults  = "job-results"
	tThaws    = "thaw-requests"
	tRestores = "restore-completions"
)

func testPolicy() domain.Policy {
	p := domain.DefaultPolicy()
	p.FreeInputLimit = 1024
	p.MaxInputSize = 64 * 1024
	p.FreeWindow = 5 * time.Minute
	p.Lease = 2 * time.Minute
	p.MaxAttempts = 3
	p.ExpeditedRestore = 5 * time.Minute
	p.StandardRestore = 5 * time.Hour
	return p
}

// newWorld builds the world; receives, if given, is how often a message is
// delivered before it is dead-lettered (default maxReceives).
func newWorld(t testing.TB, receives ...int) *world {
	t.Helper()
	deadAfter := maxReceives
	if len(receives) > 0 {
		deadAfter = receives[0]
	}
	clock := memory.NewFakeClock(time.Time{})
	objects, err := memory.NewObjectStore(memory.WithObjectClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	policy := testPolicy()
	outbox, err := memory.NewOutbox(clock, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		t: t, ctx: context.Background(), clock: clock,
		jobStore: &trackedJobs{JobStore: memory.NewJobStore(), completions: map[domain.JobID]int{},
			clock: clock, written: map[domain.JobID]time.Time{}},
		users: memory.NewUserStore(), objects: objects,
		outbox: outbox, queues: map[string]*memory.Queue{}, policy: policy,
		topics:    map[string][]string{tResults: {qNotify}, tThaws: {qThaw}, tRestores: {qRestore}},
		annotator: newFakeAnnotator(),
	}
	ids := memory.NewSequenceIDs("msg")
	for _, name := range queueNames {
		dead, err := memory.NewQueue(dlq(name), clock, memory.WithQueueIDs(ids))
		if err != nil {
			t.Fatal(err)
		}
		q, err := memory.NewQueue(name, clock, memory.WithDeadLetter(dead, deadAfter), memory.WithQueueIDs(ids))
		if err != nil {
			t.Fatal(err)
		}
		w.queues[name], w.queues[dlq(name)] = q, dead
	}
	if w.parked, err = memory.NewQueue("parked", clock, memory.WithQueueIDs(ids)); err != nil {
		t.Fatal(err)
	}
	// Cold storage announces finished retrievals on restore-completions,
	// as Glacier does through SNS; the restorer also polls.
	arch, err := memory.NewArchive(clock, memory.WithRetrievalTimes(policy.ExpeditedRestore, policy.StandardRestore),
		memory.WithArchiveIDs(memory.NewSequenceIDs("ret")),
		memory.WithRestoreCallback(func(ctx context.Context, c memory.RestoreCompletion) error {
			id, ok := jobs.JobOfArchiveKey("archive/", c.ArchiveID)
			if !ok {
				return fmt.Errorf("archive %s names no job", c.ArchiveID)
			}
			return w.queues[qRestore].Send(ctx, ports.Outgoing{Body: message.RestoreCompleted(id).Encode()})
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arch.Close() })
	w.archive = &trackedArchive{Archive: arch, mem: arch, live: map[string][]byte{}}
	w.cfg = workers.Config{
		Policy: policy, ResultPrefix: "results/", Visibility: 3 * time.Minute, Wait: time.Millisecond,
		Heartbeat: -1, RetryDelay: 10 * time.Second, PollInterval: time.Minute, RedriveDelay: 5 * time.Minute,
		MaxRedrives: 3, ReconcileInterval: 5 * time.Minute, ReconcileGrace: 10 * time.Minute,
		Logger: discardLogger(),
	}
	p := w.ports(nil)
	w.jobsSvc, err = jobs.NewService(p.jobs, p.users, p.objects, p.queue(qAnnotate), clock, memory.NewSequenceIDs("job"),
		jobs.Config{Policy: policy, InputPrefix: "inputs/", ResultPrefix: "results/", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	w.accounts = accounts.NewService(p.users, memory.NewFreeBilling(), p.topic(tThaws), clock).WithLogger(discardLogger())
	return w
}

// portset is one worker's view of the world, possibly through an injector.
type portset struct {
	w       *world
	inj     *injector
	jobs    ports.JobStore
	users   ports.UserStore
	objects ports.ObjectStore
	archive ports.Archive
	mailer  ports.Mailer
}

func (w *world) ports(inj *injector) portset {
	p := portset{w: w, inj: inj, jobs: w.jobStore, users: w.users, objects: w.objects, archive: w.archive, mailer: w.outbox}
	if inj != nil {
		p.mailer = &faultyMailer{w.outbox, inj}
		p.jobs = &faultyJobs{w.jobStore, inj}
		p.users = &faultyUsers{w.users, inj}
		p.objects = &faultyObjects{w.objects, inj}
		p.archive = &faultyArchive{w.archive, inj}
	}
	return p
}

func (p portset) queue(name string) ports.Queue {
	if p.inj == nil && p.w.lose == nil {
		return p.w.queues[name]
	}
	return &faultyQueue{p.w.queues[name], p.inj, name, p.w}
}

// parked is the parked queue as this portset sees it.
func (p portset) parked() ports.Queue {
	if p.inj == nil && p.w.lose == nil {
		return p.w.parked
	}
	return &faultyQueue{p.w.parked, p.inj, "parked", p.w}
}

// lost reports whether the world loses a message sent to what (a topic
// publish or a queue send) without telling the sender.
func (w *world) lost(what string) bool { return w.lose != nil && w.lose(what) }

type topic struct {
	p    portset
	subs []string
}

func (t topic) Publish(ctx context.Context, body []byte) error {
	if err := t.p.inj.call(ctx, "publish"); err != nil {
		return err
	}
	if t.p.w.lost("publish") {
		return nil
	}
	var errs []error
	for _, s := range t.subs {
		errs = append(errs, t.p.w.queues[s].Send(ctx, ports.Outgoing{Body: body}))
	}
	return errors.Join(errs...)
}

func (p portset) topic(name string) ports.Publisher { return topic{p, p.w.topics[name]} }

// annotator is the results adapter over the fake engine and this portset's
// (fault-injected) object store, as deployments run it.
func (p portset) annotator() ports.Annotator { return p.w.annotatorOver(p.objects) }

// annotatorOver is the results adapter over the fake engine and objects.
func (w *world) annotatorOver(objects ports.ObjectStore) ports.Annotator {
	a, err := results.New(objects, results.Engines{w.annotator}, results.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (p portset) archival() *archival.Service {
	s, err := archival.NewService(archival.Ports{Jobs: p.jobs, Users: p.users, Objects: p.objects, Archive: p.archive,
		Bundler: tarball.New(p.objects), Restores: p.queue(qRestore), Clock: p.w.clock},
		archival.Config{Policy: p.w.policy, Logger: discardLogger()})
	if err != nil {
		p.w.t.Fatal(err)
	}
	return s
}

// handler builds the worker of queue name with this port view.
func (p portset) handler(name string) func(context.Context, ports.Message) error {
	w := p.w
	var h interface {
		Handle(context.Context, ports.Message) error
	}
	var err error
	switch name {
	case qAnnotate:
		h, err = workers.NewRunner(workers.RunnerPorts{
			Requests: p.queue(qAnnotate), Archives: p.queue(qArchive), Results: p.topic(tResults),
			Jobs: p.jobs, Users: p.users, Objects: p.objects, Annotator: p.annotator(), Clock: w.clock,
		}, w.cfg)
	case qNotify:
		h, err = workers.NewNotifier(workers.NotifierPorts{Queue: p.queue(qNotify), Jobs: p.jobs, Users: p.users,
			Composer: testComposer, Mailer: p.mailer, Clock: w.clock}, w.cfg)
	case qArchive:
		h, err = workers.NewArchiver(p.queue(qArchive), p.archival(), w.clock, w.cfg)
	case qThaw:
		h, err = workers.NewThawer(p.queue(qThaw), p.archival(), w.clock, w.cfg)
	case qRestore:
		h, err = workers.NewRestorer(p.queue(qRestore), p.archival(), w.clock, w.cfg)
	default:
		origin, ok := strings.CutSuffix(name, "-dlq")
		if !ok {
			w.t.Fatalf("no worker for queue %s", name)
		}
		results := p.topic(tResults)
		h, err = workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: p.queue(name), Origin: p.queue(origin), Queue: origin,
			Parked: p.parked(), Results: results, Jobs: p.jobs, Clock: w.clock}, w.cfg)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return h.Handle
}

// receive takes the next visible delivery of a queue, if any.
func (w *world) receive(name string) (ports.Message, bool) {
	ms, err := w.queues[name].Receive(w.ctx, 1, w.cfg.Visibility, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(ms) == 0 {
		return ports.Message{}, false
	}
	return ms[0], true
}

// deliver hands the next visible message of a queue to a healthy worker.
func (w *world) deliver(name string) (bool, error) {
	m, ok := w.receive(name)
	if !ok {
		return false, nil
	}
	return true, w.ports(nil).handler(name)(w.ctx, m)
}

// mustDeliver delivers one message and fails the test if there was none or
// it was not acknowledged.
func (w *world) mustDeliver(name string) {
	w.t.Helper()
	ok, err := w.deliver(name)
	if !ok {
		w.t.Fatalf("no message visible on %s", name)
	}
	if err != nil {
		w.t.Fatalf("deliver %s: %v", name, err)
	}
}

// settle delivers every visible message on every queue until none is left.
func (w *world) settle() {
	w.t.Helper()
	for range 1000 {
		any := false
		for name := range w.queues {
			ok, _ := w.deliver(name)
			any = any || ok
		}
		if !any {
			return
		}
	}
	w.t.Fatal("queues never settled")
}

func (w *world) stats(name string) ports.QueueStats {
	s, err := w.queues[name].Stats(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) pending() int {
	n := 0
	for name := range w.queues {
		s := w.stats(name)
		n += s.Visible + s.InFlight + s.Delayed
	}
	return n
}

func (w *world) signIn(id string) *domain.User {
	w.t.Helper()
	u, err := w.accounts.SignIn(w.ctx, ports.Identity{Subject: domain.UserID(id), Name: "User " + id, Email: id + "@example.org"})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) job(id domain.JobID) *domain.Job {
	w.t.Helper()
	j, err := w.jobStore.Get(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

// object reads a hot object; ok is false if it does not exist.
func (w *world) object(key string) (string, bool) {
	r, err := w.objects.Get(w.ctx, key)
	if errors.Is(err, ports.ErrNotFound) {
		return "", false
	}
	if err != nil {
		w.t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b), true
}

func inputFor(i int) string {
	return fmt.Sprintf("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n1\t%d\t.\tA\tG\n", 1000+i)
}

// fakeAnnotator is the engine's stand-in: the annotated VCF is the input
// with a marker line, each data line one table row; input containing
// NOT-A-VCF is refused as bad input.
type fakeAnnotator struct {
	mu sync.Mutex
	// during, if set, runs inside Annotate (to upgrade mid-run, block, fail).
	during func(ctx context.Context, in string) error
	// tableErr, if set, is what handing rows to the variant table returns.
	tableErr error
	runs     int
}

func newFakeAnnotator() *fakeAnnotator { return &fakeAnnotator{} }

func annotated(input string) string { return "##gas-annotated=fake\n" + input }

func (a *fakeAnnotator) Reference() string { return "fake-ref" }

func (a *fakeAnnotator) AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return domain.Summary{}, err
	}
	input := string(b)
	a.mu.Lock()
	a.runs++
	during, tableErr := a.during, a.tableErr
	a.mu.Unlock()
	if during != nil {
		if err := during(ctx, input); err != nil {
			return domain.Summary{}, err
		}
	}
	if strings.Contains(input, "NOT-A-VCF") {
		return domain.Summary{}, fmt.Errorf("%w: line 1: missing #CHROM header", ports.ErrBadInput)
	}
	text := annotated(input)
	header := strings.LastIndex(text, "#CHROM")
	header += strings.IndexByte(text[header:], '\n') + 1
	if err := job.Table.Start(&vartable.Vocabulary{Terms: []string{"missense_variant"}}, int64(header)); err != nil {
		return domain.Summary{}, err
	}
	if _, err := io.WriteString(out, text); err != nil {
		return domain.Summary{}, err
	}
	var lines []vartable.Line
	var entries []vartable.Entry
	for off := header; off < len(text); {
		n := strings.IndexByte(text[off:], '\n')
		lines = append(lines, vartable.Line{Offset: int64(off), Length: n, Chrom: []byte("1"), Pos: 1, Entries: 1})
		entries = append(entries, vartable.Entry{Terms: 1, Impact: vartable.ImpactModerate, Gene: -1})
		off += n + 1
	}
	if err := errors.Join(tableErr, job.Table.Lines(lines, entries)); err != nil {
		return domain.Summary{}, fmt.Errorf("variant table: %w", err)
	}
	return domain.Summary{Reference: "fake-ref", Records: int64(len(lines)), Variants: int64(len(lines)), Transitions: 1,
		ByConsequence: map[string]int64{"missense_variant": 1}}, nil
}

// testBaseURL is the site the test e-mails link to.
const testBaseURL = "https://gas.test"

// testComposer renders notices as every deployment does.
var testComposer = func() email.Composer {
	c, err := email.NewComposer(testBaseURL)
	if err != nil {
		panic(err)
	}
	return c
}()
