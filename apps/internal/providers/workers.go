package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gasproject/gas/adapters/results"

	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/apps/internal/pool"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// WorkerSet is the queue consumers one process runs, grouped by the ports
// they need, so a role loads only what its own workers use: each AWS role's
// injector fills its group (wire.Struct with one field), local mode fills
// them all. Within a group, the topology decides which queues the process
// consumes (role.Config.Runs).
type WorkerSet struct {
	Runner     RunnerGroup
	Archival   ArchivalGroup
	Notifier   NotifierGroup
	Reconciler ReconcilerGroup
}

// AllWorkersSet is every role's workers in one process (local mode), with
// the archival service the archive side needs.
var AllWorkersSet = wire.NewSet(ArchivalService, RunnerSet, ArchivalWorkers, NotifierSet, ReconcilerWorkers,
	wire.Struct(new(WorkerSet), "*"))

// RunnerSet is the annotator runner over a results.Engine the injector
// provides.
var RunnerSet = wire.NewSet(ResultsAnnotator, RunnerWorkers)

// NotifierSet is the notifier and dead-letter workers with the e-mail
// composer.
var NotifierSet = wire.NewSet(Composer, NotifierWorkers)

// RunnerGroup consumes the queues of the annotator role.
type RunnerGroup []role.Worker

// ArchivalGroup consumes the queues of the archiver, thawer and restorer roles.
type ArchivalGroup []role.Worker

// NotifierGroup consumes the notifier role's queue and every dead-letter
// queue.
type NotifierGroup []role.Worker

// ReconcilerGroup is the reconciler, which consumes no queue.
type ReconcilerGroup []role.Worker

// all lists every worker of the set.
func (ws WorkerSet) all() []role.Worker {
	return slices.Concat([]role.Worker(ws.Runner), []role.Worker(ws.Archival), []role.Worker(ws.Notifier),
		[]role.Worker(ws.Reconciler))
}

// consumer builds the worker loop of one queue, given the queue as its
// worker sees it (wrapped so shutdown can drain it).
type consumer func(q ports.Queue) (func(context.Context) error, error)

// runOf adapts a worker constructor's result to a consumer's.
func runOf[W interface{ Run(context.Context) error }](w W, err error) (func(context.Context) error, error) {
	if err != nil {
		return nil, err
	}
	return w.Run, nil
}

// ResultsAnnotator annotates a job's input object into its result objects
// with the engine of the job's reference, indexing the annotated VCF from
// the rows the engine hands over as it streams.
func ResultsAnnotator(objects ports.ObjectStore, engines results.Engines) (ports.Annotator, error) {
	return results.New(objects, engines, results.Options{})
}

// RunnerWorkers builds the annotator runner, writing results with their
// variant index. On SIGTERM a job in progress finishes within the grace
// period or is released to another annotator.
func RunnerWorkers(rt *role.Runtime, cfg workers.Config, bus *message.Bus, store ports.JobStore, users ports.UserStore,
	objects ports.ObjectStore, ann ports.Annotator, clock ports.Clock) (RunnerGroup, error) {
	cfg.Concurrency = cmp.Or(rt.Config.Pipeline.RunnerConcurrency, cfg.Concurrency)
	ws, err := consumers(rt, cfg, bus, map[string]consumer{
		message.RoleAnnotator: func(q ports.Queue) (func(context.Context) error, error) {
			r, err := workers.NewRunner(workers.RunnerPorts{
				Requests: q, Archives: bus.Queue(message.QueueArchive), Results: bus.Topic(message.TopicJobResults),
				Jobs: store, Users: users, Objects: objects, Annotator: ann, Clock: clock,
			}, cfg)
			if err != nil || rt.Config.Pipeline.RunnerPool.Max == 0 {
				return runOf(r, err)
			}
			return runnerPool(rt, cfg, q, r)
		},
	})
	return RunnerGroup(ws), err
}

// runnerPool runs r as an elastic pool of annotator loops on q (local
// mode's Pipeline.RunnerPool), each receiving as the runner's own loops
// would, and exposes it as the runtime's Pool.
func runnerPool(rt *role.Runtime, cfg workers.Config, q ports.Queue, r *workers.Runner) (func(context.Context) error, error) {
	pc := rt.Config.Pipeline.RunnerPool
	pc.Visibility = cmp.Or(cfg.Visibility, message.DefaultVisibility)
	pc.Wait = cmp.Or(cfg.Wait, 20*time.Second)
	pc.Logger = rt.Log
	p, err := pool.New(q, r.Dispatcher(), r.Handle, pc)
	if err != nil {
		return nil, err
	}
	rt.Pool = p
	return p.Run, nil
}

// ArchivalWorkers builds the archive side: the archiver (free users'
// results when their window ends), the thawer (restores of an upgraded
// user's archives, Expedited first) and the restorer, whose queue carries
// both cold storage's completion notices and the polling fallback's checks.
func ArchivalWorkers(rt *role.Runtime, cfg workers.Config, bus *message.Bus, svc *archival.Service,
	clock ports.Clock) (ArchivalGroup, error) {
	ws, err := consumers(rt, cfg, bus, map[string]consumer{
		message.RoleArchiver: func(q ports.Queue) (func(context.Context) error, error) {
			return runOf(workers.NewArchiver(q, svc, clock, cfg))
		},
		message.RoleThawer: func(q ports.Queue) (func(context.Context) error, error) {
			return runOf(workers.NewThawer(q, svc, clock, cfg))
		},
		message.RoleRestorer: func(q ports.Queue) (func(context.Context) error, error) {
			return runOf(workers.NewRestorer(q, svc, clock, cfg))
		},
	})
	return ArchivalGroup(ws), err
}

// NotifierWorkers e-mails users about finished and failed jobs and (with
// GAS_DEAD_LETTERS, the default) drains every dead-letter queue: a dead job
// request marks its job FAILED with the reason and tells the user; other
// dead messages are redriven. Dead letters are handled here, apart from
// the workers whose failures feed them, so a broken worker fleet cannot
// also block the verdict on its own failures.
func NotifierWorkers(rt *role.Runtime, cfg workers.Config, bus *message.Bus, store ports.JobStore, users ports.UserStore,
	composer ports.Composer, mailer ports.Mailer, clock ports.Clock) (NotifierGroup, error) {
	ws, err := consumers(rt, cfg, bus, map[string]consumer{
		message.RoleNotifier: func(q ports.Queue) (func(context.Context) error, error) {
			return runOf(workers.NewNotifier(workers.NotifierPorts{Queue: q, Jobs: store, Users: users,
				Composer: composer, Mailer: mailer, Clock: clock}, cfg))
		},
	})
	if err != nil || !rt.Config.DeadLetters {
		return NotifierGroup(ws), err
	}
	rt.Metrics.WatchQueue(bus.Topology().Parked, bus.Parked())
	for _, q := range bus.Topology().Queues {
		if !rt.Config.Runs(role.Name(q.DeadLetterConsumer)) || q.DeadLetterConsumer != message.RoleNotifier {
			continue
		}
		w, err := newWorker(rt, cfg, deadLettersOf(q.Name), q.DeadLetter(), bus.DeadLetter(q.Name), func(dq ports.Queue) (func(context.Context) error, error) {
			return runOf(workers.NewDeadLetters(workers.DeadLetterPorts{DLQ: dq, Origin: bus.Queue(q.Name), Queue: q.Name,
				Parked: bus.Parked(), Results: bus.Topic(message.TopicJobResults), Jobs: store, Clock: clock}, cfg))
		})
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return NotifierGroup(ws), nil
}

// reconcilerWorker names the reconciler among a process's workers.
const reconcilerWorker = "reconciler"

// ReconcilerWorkers is the reconciler, when the process runs its role (the
// reconciler role, local mode): every ReconcileInterval it scans the jobs
// and re-issues what a failure lost. It reports to /metrics, with the
// depths of the queues it watches and of the parked queue.
func ReconcilerWorkers(rt *role.Runtime, cfg workers.Config, bus *message.Bus, store ports.JobStore, users ports.UserStore,
	clock ports.Clock) (ReconcilerGroup, error) {
	if !rt.Config.Runs(role.Reconciler) {
		return nil, nil
	}
	r, err := Reconciler(rt, cfg, bus, store, users, clock)
	if err != nil {
		return nil, err
	}
	t := bus.Topology()
	for _, q := range t.Reconciler.Watches {
		rt.Metrics.WatchQueue(q, bus.Queue(q))
	}
	rt.Metrics.WatchQueue(t.Parked, bus.Parked())
	return ReconcilerGroup{{Name: reconcilerWorker, Run: r.Run}}, nil
}

// Reconciler is the reconciler over the topics and queues the topology
// gives it (message.Topology.Reconciler), its passes observed in /metrics.
func Reconciler(rt *role.Runtime, cfg workers.Config, bus *message.Bus, store ports.JobStore, users ports.UserStore,
	clock ports.Clock) (*workers.Reconciler, error) {
	r, err := workers.NewReconciler(workers.ReconcilerPorts{
		Jobs: store, Users: users,
		Results: bus.Topic(message.TopicJobResults),
		Thaws:   bus.Topic(message.TopicThawRequests), Restores: bus.Topic(message.TopicRestoreCompletions),
		Archives: bus.Queue(message.QueueArchive), Annotate: bus.Queue(message.QueueAnnotate), Clock: clock,
	}, cfg, rt.Metrics.ObserveReconcile)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	return r, nil
}

// deadLettersOf names the worker draining queue's dead-letter queue.
func deadLettersOf(queue string) string { return "dead-letters:" + queue }

// consumers builds, for every queue of the topology whose consumer the
// process runs and build knows, its worker named after the queue.
func consumers(rt *role.Runtime, cfg workers.Config, bus *message.Bus, build map[string]consumer) ([]role.Worker, error) {
	var out []role.Worker
	for _, q := range bus.Topology().Queues {
		f, ok := build[q.Consumer]
		if !ok || !rt.Config.Runs(role.Name(q.Consumer)) {
			continue
		}
		w, err := newWorker(rt, cfg, q.Name, q.Name, bus.Queue(q.Name), f)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// newWorker builds the worker name on q behind a drain queue, and reports
// q's depth in /metrics as queue.
func newWorker(rt *role.Runtime, cfg workers.Config, name, queue string, q ports.Queue, f consumer) (role.Worker, error) {
	if q == nil {
		return role.Worker{}, fmt.Errorf("worker %s: the topology has no queue %s", name, queue)
	}
	dq := role.NewDrainQueue(q, cfg.Concurrency)
	run, err := f(dq)
	if err != nil {
		return role.Worker{}, fmt.Errorf("worker %s: %w", name, err)
	}
	rt.Metrics.WatchQueue(queue, q)
	return role.Worker{Name: name, Run: run, Queue: dq}, nil
}

// Workers are the process's workers, checked against the topology: every
// queue whose consumer the process runs must have its worker, so a queue
// added to the topology without one fails at start instead of filling up.
func (ws WorkerSet) Workers(rt *role.Runtime, bus *message.Bus) ([]role.Worker, error) {
	all := ws.all()
	has := func(name string) bool {
		return slices.ContainsFunc(all, func(w role.Worker) bool { return w.Name == name })
	}
	var errs []error
	for _, q := range bus.Topology().Queues {
		if rt.Config.Runs(role.Name(q.Consumer)) && !has(q.Name) {
			errs = append(errs, fmt.Errorf("%s consumes queue %s, but no worker was built for it", q.Consumer, q.Name))
		}
		if rt.Config.DeadLetters && rt.Config.Runs(role.Name(q.DeadLetterConsumer)) && !has(deadLettersOf(q.Name)) {
			errs = append(errs, fmt.Errorf("%s drains the dead letters of %s, but no worker was built for them", q.DeadLetterConsumer, q.Name))
		}
	}
	if rt.Config.Runs(role.Name(bus.Topology().Reconciler.Role)) && !has(reconcilerWorker) {
		errs = append(errs, errors.New("the process runs the reconciler role, but no reconciler was built"))
	}
	return all, errors.Join(errs...)
}

// WorkerApp is a worker role: its workers, ready while the jobs table and
// their queues answer.
func WorkerApp(rt *role.Runtime, ws WorkerSet, bus *message.Bus, store ports.JobStore) (*role.App, error) {
	all, err := ws.Workers(rt, bus)
	if err != nil {
		return nil, err
	}
	var queues []ports.Queue
	for _, w := range all {
		if w.Queue != nil { // the reconciler consumes none
			queues = append(queues, w.Queue)
		}
	}
	return &role.App{Workers: all, Ready: rt.Ready(jobsReachable(store), queuesReachable(queues...))}, nil
}

// jobsReachable is a readiness check: the jobs table answers.
func jobsReachable(store ports.JobStore) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := store.Get(ctx, "readyz-probe")
		if err == nil || errors.Is(err, ports.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("jobs table: %w", err)
	}
}

// queuesReachable is a readiness check: each queue answers.
func queuesReachable(qs ...ports.Queue) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, q := range qs {
			if _, err := q.Stats(ctx); err != nil {
				return fmt.Errorf("queue: %w", err)
			}
		}
		return nil
	}
}
