package workers_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/email"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

var (
	flagSeed      = flag.Uint64("gas.seed", 0, "first seed of TestRandomSchedules (0: fixed default)")
	flagSchedules = flag.Int("gas.schedules", 0, "number of schedules TestRandomSchedules runs (0: default)")
)

// TestRandomSchedules interleaves uploads, runs, archive deliveries,
// duplicate deliveries, upgrades, downgrades, clock jumps, worker
// crashes/pauses at every port-call boundary, lost publishes and sends, a
// lagging storage index, dropped dead letters and reconciler runs (which
// crash and pause too), seeded and reproducible. The safety invariants
// (no result lost, no job run twice at once or completed twice, no e-mail
// sent twice without a failed notifier) hold after every step. The
// liveness invariants are eventual: once the faults stop, the system is
// drained and the reconciler has run once, one reconcile interval after
// the last thing that was due, every job is in its correct final state,
// and a second pass finds nothing left to repair. Annotation requests
// reach their workers through the runner's fair-share Dispatcher, and
// every turn it hands out is checked: no user with work queued waits more
// than one turn behind another user's backlog.
func TestRandomSchedules(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	if *flagSchedules > 0 {
		n = *flagSchedules
	}
	first := *flagSeed
	if first == 0 {
		first = 20260301
	}
	start := time.Now()
	var stats scheduleStats
	for i := range n {
		seed := first + uint64(i)
		if err := runSchedule(t, seed, &stats); err != nil {
			t.Fatalf("schedule with seed %d failed: %v\nreproduce: go test ./domain/workers -run TestRandomSchedules -gas.seed=%d -gas.schedules=1 -v",
				seed, err, seed)
		}
	}
	t.Logf("%d schedules (seeds %d..%d) in %s: %+v", n, first, first+uint64(n)-1, time.Since(start).Round(time.Millisecond), stats)
}

type scheduleStats struct {
	Steps, Deliveries, Crashes, Flakes, Parks, Kills, Duplicates, Uploads, Upgrades, Downgrades int
	Turns, Passed, CapHeld                                                                      int
	Completed, Failed, Archived, Restored, Takeovers, Forgotten, Relapsed, Emails, Reemails     int
	Lost, Lagging, DroppedDeadLetters, Parked, Reconciles, Repairs                              int
}

// worker is one delivery being handled in its own goroutine.
type worker struct {
	id    int
	queue string
	inj   *injector
	done  chan error
	turn  *workers.Turn // the dispatcher's turn it runs (annotate deliveries)
}

type schedule struct {
	w       *world
	rng     *rand.Rand
	stats   *scheduleStats
	users   []string
	ever    map[string]bool // users who were ever premium
	parked  []*worker
	bodies  map[string][][]byte // bodies seen per queue, for duplicates
	nextID  int
	current int // the worker now running (only one runs at a time)
	// runs are claims in progress per job: which worker, and until when its lease holds.
	runs      map[domain.JobID][]claim
	violation error
	inputs    int
	trace     []string
	// putters are the workers that wrote each archive key; crashed are the
	// workers that died. A worker dying between writing an archive copy and
	// recording it leaves a copy no job points to, unless a retry
	// overwrites and records it (it does not if the owner upgraded
	// meanwhile): an accepted leak, never a loss.
	putters map[string][]int
	crashed map[int]bool
	// disturbed are the jobs a notifier handled with a fault injected (a
	// crash, a pause or a failed call): only they may be e-mailed twice,
	// when the fault fell between sending and recording the notice.
	disturbed map[domain.JobID]bool
	// disp shares the annotate queue out among users over dispatchSlots
	// slots; turns counts its turns outstanding per user, and passed[y][x]
	// records that x started while y waited for a turn.
	disp   *workers.Dispatcher
	turns  map[domain.UserID]int
	passed map[domain.UserID]map[domain.UserID]bool
}

// dispatchSlots is the pool the schedule's dispatcher shares out: a
// user's cap is then 1 (free) or 2 (premium), so caps bind often.
const dispatchSlots = 3

type claim struct {
	worker int
	until  time.Time
}

func runSchedule(t *testing.T, seed uint64, stats *scheduleStats) (err error) {
	// A third of the schedules dead-letter after two deliveries, so dead
	// letters (redriven, parked, dropped) are common.
	w := newWorld(t, []int{maxReceives, maxReceives, 2}[seed%3])
	s := &schedule{w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), stats: stats,
		ever: map[string]bool{}, bodies: map[string][][]byte{}, runs: map[domain.JobID][]claim{},
		putters: map[string][]int{}, crashed: map[int]bool{}, disturbed: map[domain.JobID]bool{},
		turns: map[domain.UserID]int{}, passed: map[domain.UserID]map[domain.UserID]bool{}}
	cfg := w.cfg
	cfg.Concurrency = dispatchSlots
	if s.disp, err = workers.NewDispatcher(w.queues[qAnnotate], w.users, cfg); err != nil {
		return err
	}
	defer func() {
		if err != nil && testing.Verbose() {
			t.Logf("trace of seed %d:\n%s", seed, strings.Join(s.trace, "\n"))
		}
		for _, p := range s.parked { // never leave goroutines behind
			p.inj.resume <- false
			<-p.done
		}
	}()
	w.jobStore.onUpdate = s.observe
	w.archive.onPut = func(key string) { s.putters[key] = append(s.putters[key], s.current) }
	s.injectFaults()
	for i := range 3 {
		u := fmt.Sprintf("u%d", i)
		w.signIn(u)
		s.users = append(s.users, u)
	}
	steps := 40 + s.rng.IntN(80)
	for range steps {
		stats.Steps++
		if err := s.step(); err != nil {
			return err
		}
		if err := s.check(); err != nil {
			return err
		}
	}
	s.stopFaults()
	if err := s.drain(); err != nil {
		return err
	}
	return s.converge()
}

func (s *schedule) logf(format string, args ...any) {
	if testing.Verbose() {
		s.trace = append(s.trace, fmt.Sprintf("%s ", s.w.clock.Now().Format("15:04:05"))+fmt.Sprintf(format, args...))
	}
}

// observe sees every job write: a write into RUNNING with a new attempt is
// a claim by the running worker, which must not overlap another worker's
// live claim; a write out of RUNNING ends every claim.
func (s *schedule) observe(before, after domain.JobSnapshot) {
	if before.Status == domain.StatusRunning && after.Status != domain.StatusRunning {
		delete(s.runs, after.ID) // completed, failed, released or abandoned: no claim holds
		return
	}
	if after.Status != domain.StatusRunning || (before.Status == domain.StatusRunning && after.Attempts <= before.Attempts) {
		return
	}
	now := s.w.clock.Now()
	for _, c := range s.runs[after.ID] {
		if c.worker != s.current && now.Before(c.until) && s.alive(c.worker) {
			s.violation = fmt.Errorf("job %s claimed by worker %d while worker %d holds a live lease until %s",
				after.ID, s.current, c.worker, c.until.Format(time.TimeOnly))
		}
	}
	if before.Status == domain.StatusRunning {
		s.stats.Takeovers++
	}
	s.runs[after.ID] = append(s.runs[after.ID], claim{s.current, after.LeaseUntil})
}

func (s *schedule) alive(id int) bool {
	return slices.ContainsFunc(s.parked, func(p *worker) bool { return p.id == id }) || id == s.current
}

// finished forgets the claims of a worker that returned.
func (s *schedule) finished(id int) {
	for job, cs := range s.runs {
		s.runs[job] = slices.DeleteFunc(cs, func(c claim) bool { return c.worker == id })
	}
}

func (s *schedule) step() error {
	w, r := s.w, s.rng
	switch x := r.IntN(100); {
	case x < 15: // upload
		u := s.users[r.IntN(len(s.users))]
		s.inputs++
		in := inputFor(s.inputs)
		if r.IntN(10) == 0 {
			in = fmt.Sprintf("NOT-A-VCF %d\n", s.inputs)
		}
		j, err := w.jobsSvc.Upload(w.ctx, domain.UserID(u), fmt.Sprintf("in%d.vcf", s.inputs), strings.NewReader(in))
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		s.stats.Uploads++
		s.logf("upload %s by %s", j.ID(), u)
	case x < 60: // deliver with a healthy, crashing or pausing worker
		return s.deliver()
	case x < 65: // duplicate a message seen earlier
		names := s.queuesWithBodies()
		if len(names) == 0 {
			return nil
		}
		q := names[r.IntN(len(names))]
		b := s.bodies[q][r.IntN(len(s.bodies[q]))]
		if err := w.queues[q].Send(w.ctx, ports.Outgoing{Body: b}); err != nil {
			return err
		}
		s.stats.Duplicates++
		s.logf("duplicate on %s: %s", q, b)
	case x < 76: // time passes
		d := []time.Duration{time.Second, 30 * time.Second, 2 * time.Minute, 3*time.Minute + time.Second, 6 * time.Minute, 20 * time.Minute}[r.IntN(6)]
		w.clock.Advance(d)
		s.logf("advance %s", d)
	case x < 82: // upgrade or downgrade
		u := s.users[r.IntN(len(s.users))]
		if r.IntN(2) == 0 {
			if _, err := w.accounts.Upgrade(w.ctx, domain.UserID(u)); err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			s.ever[u] = true
			s.stats.Upgrades++
			s.logf("upgrade %s", u)
		} else {
			if _, err := w.accounts.Downgrade(w.ctx, domain.UserID(u)); err != nil {
				return fmt.Errorf("downgrade: %w", err)
			}
			s.stats.Downgrades++
			s.logf("downgrade %s", u)
		}
	case x < 84: // a dead letter is lost before its handler sees it
		s.dropDeadLetter()
	case x < 87: // the reconciler runs (and may crash or pause, like any worker)
		s.reconcile()
	case x < 89: // cold storage runs out of expedited capacity, or gets it back
		refuse := r.IntN(2) == 0
		w.archive.mem.RefuseExpedited(refuse)
		s.logf("refuse expedited: %v", refuse)
	case x < 91: // cold storage forgets a retrieval in flight (its copy expired, or it was lost)
		var inFlight []string
		js, err := s.jobs()
		if err != nil {
			return err
		}
		for _, j := range js {
			if j.Storage() == domain.StorageRestoring {
				inFlight = append(inFlight, j.RetrievalID())
			}
		}
		w.archive.mu.Lock()
		if n := len(w.archive.initiated); n > 0 { // perhaps not recorded yet
			inFlight = append(inFlight, w.archive.initiated[n-1])
		}
		w.archive.mu.Unlock()
		if len(inFlight) > 0 {
			i := r.IntN(len(inFlight))
			id := inFlight[i]
			if i < len(inFlight)-1 || slices.ContainsFunc(js, func(j *domain.Job) bool { return j.RetrievalID() == id }) {
				s.stats.Relapsed++ // a recorded retrieval: the job must be restored through a new one
			}
			w.archive.forget(id)
			s.stats.Forgotten++
			s.logf("cold storage forgets %s", id)
		}
	default: // a paused worker goes on, or dies
		if len(s.parked) == 0 {
			return s.deliver()
		}
		i := r.IntN(len(s.parked))
		p := s.parked[i]
		s.parked = slices.Delete(s.parked, i, i+1)
		if r.IntN(4) == 0 {
			s.stats.Kills++
			s.logf("kill worker %d (%s)", p.id, p.queue)
			p.inj.resume <- false
		} else {
			failAt, parkAt := s.faultPoints(p.inj.count())
			p.inj.rearm(failAt, parkAt)
			s.logf("resume worker %d (%s) fail@%d park@%d", p.id, p.queue, failAt, parkAt)
			s.current = p.id
			p.inj.resume <- true
		}
		s.wait(p)
	}
	return nil
}

// faultPoints picks, for a worker that has made calls port calls so far,
// whether and where it crashes or pauses next.
func (s *schedule) faultPoints(calls int) (failAt, parkAt int) {
	switch x := s.rng.IntN(100); {
	case x < 55:
		return 0, 0
	case x < 80:
		return calls + 1 + s.rng.IntN(12), 0
	default:
		if len(s.parked) >= 3 {
			return 0, 0
		}
		return 0, calls + 1 + s.rng.IntN(12)
	}
}

func (s *schedule) queuesWithBodies() []string {
	var out []string
	for _, q := range queueNames {
		if len(s.bodies[q]) > 0 {
			out = append(out, q)
		}
	}
	return out
}

func (s *schedule) deliver() error {
	w := s.w
	var ready []string
	for _, q := range queueNames {
		if st := w.stats(q); st.Visible > 0 || (q == qAnnotate && s.dispatchable()) {
			ready = append(ready, q)
		}
		if st := w.stats(dlq(q)); st.Visible > 0 {
			ready = append(ready, dlq(q))
		}
	}
	if len(ready) == 0 {
		return nil
	}
	q := ready[s.rng.IntN(len(ready))]
	var turn *workers.Turn
	m, ok := ports.Message{}, false
	if q == qAnnotate {
		t, err := s.dispatch()
		if err != nil {
			return err
		}
		turn, ok = t, t != nil
		if ok {
			m = t.Delivery
		}
	} else {
		m, ok = w.receive(q)
	}
	if !ok {
		return nil
	}
	if !strings.HasSuffix(q, "-dlq") {
		s.bodies[q] = append(s.bodies[q], m.Body)
	} else if s.rng.IntN(3) == 0 { // a dead letter lost before its handler sees it
		s.drop(q, m)
		return nil
	}
	failAt, parkAt := s.faultPoints(0)
	s.nextID++
	p := &worker{id: s.nextID, queue: q, inj: newInjector(failAt, parkAt), done: make(chan error, 1), turn: turn}
	if failAt == 0 && s.rng.IntN(5) == 0 {
		// One call fails and the worker lives on: its error paths run.
		p.inj.flakeAt = 1 + s.rng.IntN(12)
		s.stats.Flakes++
	}
	if msg, err := message.Decode(m.Body); err == nil && q == qNotify && (failAt > 0 || parkAt > 0 || p.inj.flakeAt > 0) {
		s.disturbed[msg.Job] = true
	}
	s.stats.Deliveries++
	if failAt > 0 {
		s.stats.Crashes++
	}
	s.logf("worker %d takes %s delivery %d of %s fail@%d park@%d flake@%d", p.id, q, m.Receives, m.Body, failAt, parkAt, p.inj.flakeAt)
	h := w.ports(p.inj).handler(q)
	s.current = p.id
	go func() { p.done <- h(w.ctx, m) }()
	s.wait(p)
	return nil
}

// wait lets worker p run until it returns or parks.
func (s *schedule) wait(p *worker) {
	select {
	case err := <-p.done:
		s.finished(p.id)
		if p.turn != nil {
			s.disp.Done(*p.turn)
			s.turns[p.turn.User]--
		}
		if p.inj.dead {
			s.crashed[p.id] = true
		}
		s.logf("worker %d returned: %v", p.id, err)
	case <-p.inj.parked:
		s.stats.Parks++
		s.parked = append(s.parked, p)
		s.logf("worker %d parked after %d calls", p.id, p.inj.count()-1)
	}
	s.current = 0
}

// jobs lists every job in the system.
func (s *schedule) jobs() ([]*domain.Job, error) {
	var all []*domain.Job
	for _, u := range s.users {
		cursor := ""
		for {
			js, next, err := s.w.jobStore.ListByUser(s.w.ctx, domain.UserID(u), cursor, 100)
			if err != nil {
				return nil, err
			}
			all = append(all, js...)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return all, nil
}

// check is the invariant after every step: no COMPLETED job's result is
// lost (it is hot, or in the archive, byte for byte), no job was claimed
// over a live lease, and no job completed twice.
func (s *schedule) check() error {
	if s.violation != nil {
		return s.violation
	}
	js, err := s.jobs()
	if err != nil {
		return err
	}
	emails := s.emails()
	for _, j := range js {
		if err := resultKept(s.w, j); err != nil {
			return err
		}
		if n := s.w.jobStore.completions[j.ID()]; n > 1 {
			return fmt.Errorf("job %s completed %d times", j.ID(), n)
		}
		if n := emails[j.ID()]; n > 1 && !s.disturbed[j.ID()] {
			return fmt.Errorf("owner of job %s e-mailed %d times though no notifier of it failed", j.ID(), n)
		}
	}
	return nil
}

// emails counts the e-mails sent about each job (by the link they carry).
func (s *schedule) emails() map[domain.JobID]int {
	out := map[domain.JobID]int{}
	prefix := email.JobURL(testBaseURL, "")
	for _, e := range s.w.outbox.Sent() {
		_, rest, ok := strings.Cut(e.Text, prefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "\n")
		out[domain.JobID(id)]++
	}
	return out
}

// drain lets every paused worker finish (or die), then delivers everything
// with healthy workers, moving time on, until all queues are empty.
func (s *schedule) drain() error {
	w := s.w
	for len(s.parked) > 0 {
		p := s.parked[0]
		s.parked = s.parked[1:]
		p.inj.rearm(0, 0)
		s.current = p.id
		resume := s.rng.IntN(3) > 0
		s.logf("drain: worker %d resumes=%v", p.id, resume)
		p.inj.resume <- resume
		s.wait(p)
		if err := s.check(); err != nil {
			return err
		}
	}
	for round := 0; round < 200; round++ {
		for moved := true; moved; {
			moved = false
			for _, q := range queueNames {
				for _, name := range []string{q, dlq(q)} {
					m, ok := w.receive(name)
					if !ok {
						continue
					}
					moved = true
					s.nextID++
					s.current = s.nextID
					err := w.ports(nil).handler(name)(w.ctx, m)
					s.finished(s.current)
					s.current = 0
					s.logf("drain: %s %s -> %v", name, m.Body, err)
					if err := s.check(); err != nil {
						return err
					}
				}
			}
		}
		if w.pending() == 0 {
			return nil
		}
		w.clock.Advance(15 * time.Minute)
	}
	return fmt.Errorf("system did not drain: %d messages left", w.pending())
}

// final checks the drained system: every job finished; every premium
// user's results are hot with no archive copy left behind; a user who was
// never premium has every result archived.
func (s *schedule) final() error {
	js, err := s.jobs()
	if err != nil {
		return err
	}
	premium := map[string]bool{}
	for _, u := range s.users {
		p, err := s.w.accounts.Profile(s.w.ctx, domain.UserID(u))
		if err != nil {
			return err
		}
		premium[u] = p.Premium()
	}
	referenced := map[string]bool{}
	emails := s.emails()
	for _, j := range js {
		if !j.Status().Terminal() {
			return fmt.Errorf("job %s left %s after draining", j.ID(), j.Status())
		}
		if st := j.Status(); (st == domain.StatusCompleted || st == domain.StatusFailed) && (!j.Notified() || emails[j.ID()] == 0) {
			return fmt.Errorf("job %s ended %s but its owner was not told (notified %v, %d e-mails)", j.ID(), st, j.Notified(), emails[j.ID()])
		}
		s.stats.Emails += emails[j.ID()]
		s.stats.Reemails += max(emails[j.ID()]-1, 0)
		switch j.Status() {
		case domain.StatusFailed:
			s.stats.Failed++
		case domain.StatusCompleted:
			s.stats.Completed++
		}
		if j.Status() != domain.StatusCompleted {
			continue
		}
		owner := string(j.Owner())
		switch {
		case j.Storage() == domain.StorageRestoring:
			return fmt.Errorf("job %s still RESTORING after draining", j.ID())
		case premium[owner] && (j.Storage() != domain.StorageAvailable || j.ArchiveID() != ""):
			return fmt.Errorf("premium user %s: job %s ends %s (archive %q)", owner, j.ID(), j.Storage(), j.ArchiveID())
		case !s.ever[owner] && j.Storage() != domain.StorageArchived:
			return fmt.Errorf("free user %s: job %s ends %s, want ARCHIVED", owner, j.ID(), j.Storage())
		}
		if j.Storage() == domain.StorageArchived {
			s.stats.Archived++
			referenced[j.ArchiveID()] = true
		}
		if j.Storage() == domain.StorageAvailable && j.Results().VCF != "" && strings.Contains(j.Results().VCF, "/r") {
			s.stats.Restored++
		}
	}
	// Cold storage holds nothing but the archives jobs point to.
	s.w.archive.mu.Lock()
	defer s.w.archive.mu.Unlock()
	for id := range s.w.archive.live {
		if referenced[id] || slices.ContainsFunc(s.putters[id], func(w int) bool { return s.crashed[w] }) {
			continue
		}
		// The one leak without a crash: an archiver finds the owner
		// upgraded after writing its copy and leaves it (see archiveHot).
		if job, ok := jobs.JobOfArchiveKey("archive/", id); ok {
			if j, err := s.w.jobStore.Get(s.w.ctx, job); err == nil && s.ever[string(j.Owner())] {
				continue
			}
		}
		return fmt.Errorf("orphaned archive copy %s written by healthy workers %v", id, s.putters[id])
	}
	return nil
}

// dispatchable reports whether the dispatcher holds a turn it could hand out.
func (s *schedule) dispatchable() bool {
	return slices.ContainsFunc(s.disp.Lines(), func(l domain.Line) bool { return l.Eligible })
}

// dispatch fetches every visible annotation request into the dispatcher
// and takes its next turn (nil if nobody may start), checking the fairness
// invariant: while a user has work queued under their cap, no other user
// starts twice; and the dispatcher's count in flight is the turns still out.
func (s *schedule) dispatch() (*workers.Turn, error) {
	for s.w.stats(qAnnotate).Visible > 0 {
		if err := s.disp.Fetch(s.w.ctx, 0); err != nil {
			return nil, err
		}
	}
	before := s.disp.Lines()
	t, ok := s.disp.Next()
	if !ok {
		return nil, nil
	}
	s.stats.Turns++
	waiting := map[domain.UserID]bool{}
	for _, l := range before {
		if l.InFlight != s.turns[l.User] {
			return nil, fmt.Errorf("dispatcher counts %d of %s's jobs in flight, %d turns are out", l.InFlight, l.User, s.turns[l.User])
		}
		waiting[l.User] = l.Eligible && l.User != t.User
		if l.HasQueue && !l.Eligible {
			s.stats.CapHeld++
		}
	}
	for y := range s.passed {
		if !waiting[y] {
			delete(s.passed, y)
		}
	}
	for _, l := range before {
		if !waiting[l.User] {
			continue
		}
		if s.passed[l.User][t.User] {
			return nil, fmt.Errorf("fairness: %s started twice while %s waited with %d queued (lines %+v)", t.User, l.User, l.Queued, before)
		}
		if s.passed[l.User] == nil {
			s.passed[l.User] = map[domain.UserID]bool{}
		}
		s.passed[l.User][t.User] = true
		s.stats.Passed++
	}
	s.turns[t.User]++
	s.logf("dispatch %s's %s (lines %+v)", t.User, t.Delivery.Body, before)
	return &t, nil
}
