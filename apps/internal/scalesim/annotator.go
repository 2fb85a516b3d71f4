package scalesim

import (
	"math"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

// job is one annotation request.
type job struct {
	user    string
	arrived time.Duration
	service time.Duration
}

// Arrival is one job of a replayed trace: when it was submitted and how
// long it takes to annotate.
type Arrival struct {
	At      time.Duration
	Service time.Duration
	User    string
}

// annotatorFarm is the annotation queue and the annotators reading it:
// each annotator works on one job at a time (the engine uses all its
// cores for it).
type annotatorFarm struct {
	s       *sim
	queue   dispatchQueue
	trace   []Arrival
	waits   []time.Duration
	byUser  map[string][]time.Duration
	started []time.Duration // waits of jobs started this minute
}

func newAnnotatorFarm(s *sim) *annotatorFarm {
	f := &annotatorFarm{s: s, byUser: map[string][]time.Duration{}}
	if s.sc.Fair {
		f.queue = newFairQueue()
	} else {
		f.queue = &fifoQueue{}
	}
	return f
}

// gaugeEvery is how often the queue's gauges are sampled; alarms read
// their average over each minute.
const gaugeEvery = time.Second

// start schedules the gauge samples and every source's arrivals (or the
// replayed trace).
func (f *annotatorFarm) start() {
	for t := time.Duration(0); t < f.s.sc.Length; t += gaugeEvery {
		f.s.clk.at(t, f.gauge)
	}
	if f.trace != nil {
		for _, a := range f.trace {
			f.s.clk.at(a.At, func() { f.arrive(job{user: a.User, arrived: a.At, service: a.Service}) })
		}
		return
	}
	for _, src := range f.s.sc.Sources {
		for _, t := range arrivals(f.s, src.Shape) {
			service := f.s.sc.Calibration.draw(f.s.rng, jobSize(f.s, src))
			f.s.clk.at(t, func() { f.arrive(job{user: src.User, arrived: t, service: service}) })
		}
	}
}

// arrivals is a Poisson process following the shape's rate (thinning a
// process at the peak rate), so loads are random but repeatable.
func arrivals(s *sim, sh Shape) []time.Duration {
	var out []time.Duration
	if sh.Peak <= 0 {
		return nil
	}
	for t := sh.Start; ; {
		t += time.Duration(s.rng.ExpFloat64() / sh.Peak * float64(time.Second))
		if t >= sh.End() {
			return out
		}
		if s.rng.Float64()*sh.Peak < sh.Rate(t) {
			out = append(out, t)
		}
	}
}

// jobSize draws a job's variant count around the source's median.
func jobSize(s *sim, src Source) int {
	if src.Spread == 0 {
		return src.Variants
	}
	return int(float64(src.Variants) * math.Exp(s.rng.NormFloat64()*src.Spread))
}

func (f *annotatorFarm) arrive(j job) {
	f.s.metrics[scaling.MessagesSent].Add(f.s.clk.wall(), 1)
	f.queue.push(j)
	f.dispatch()
}

// dispatch gives waiting jobs to idle annotators.
func (f *annotatorFarm) dispatch() {
	for _, in := range f.s.instances {
		if f.queue.len() == 0 {
			return
		}
		if in.ready && !in.busy && !in.draining && !in.gone {
			f.begin(in, f.queue.pop())
		}
	}
}

func (f *annotatorFarm) begin(in *instance, j job) {
	in.busy = true
	w := f.s.clk.now - j.arrived
	f.waits = append(f.waits, w)
	f.byUser[j.user] = append(f.byUser[j.user], w)
	f.started = append(f.started, w)
	f.s.clk.after(j.service, func() { f.finish(in) })
}

func (f *annotatorFarm) finish(in *instance) {
	in.busy = false
	if in.draining {
		f.s.stop(in)
		return
	}
	if f.queue.len() > 0 {
		f.begin(in, f.queue.pop())
	}
}

func (f *annotatorFarm) ready(*instance) { f.dispatch() }

func (f *annotatorFarm) removed(*instance) {}

// gauge samples the jobs waiting and in flight.
func (f *annotatorFarm) gauge() {
	busy := f.s.count(func(in *instance) bool { return in.busy })
	f.s.metrics[scaling.MessagesVisible].Add(f.s.clk.wall(), float64(f.queue.len()))
	f.s.metrics[scaling.MessagesInFlight].Add(f.s.clk.wall(), float64(busy))
}

// sample closes the minute ending at at: a timeline point.
func (f *annotatorFarm) sample(time.Time) {
	f.s.point(float64(f.queue.len()), percentile(f.started, 95).Seconds())
	f.started = f.started[:0]
}

func (f *annotatorFarm) result(r *Result) {
	r.Jobs = len(f.waits)
	r.Unstarted = f.queue.len()
	r.P50WaitS = percentile(f.waits, 50).Seconds()
	r.P95WaitS = percentile(f.waits, 95).Seconds()
	r.MaxWaitS = percentile(f.waits, 100).Seconds()
	r.Waits = f.waits
	if len(f.byUser) > 1 {
		r.Users = map[string]UserWaits{}
		for u, ws := range f.byUser {
			r.Users[u] = UserWaits{Jobs: len(ws), P95WaitS: percentile(ws, 95).Seconds()}
		}
	}
}

// dispatchQueue is the annotation queue's order.
type dispatchQueue interface {
	push(j job)
	pop() job
	len() int
}

// fifoQueue serves jobs in submission order, as an SQS standard queue
// roughly does.
type fifoQueue struct{ jobs []job }

func (q *fifoQueue) push(j job) { q.jobs = append(q.jobs, j) }
func (q *fifoQueue) len() int   { return len(q.jobs) }
func (q *fifoQueue) pop() job {
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	return j
}

// fairQueue serves users round-robin, first in first out within a user:
// a light user's job starts at once whatever a heavy user has queued.
type fairQueue struct {
	byUser map[string][]job
	order  []string // users with waiting jobs, in turn order
	n      int
}

func newFairQueue() *fairQueue { return &fairQueue{byUser: map[string][]job{}} }

func (q *fairQueue) push(j job) {
	if len(q.byUser[j.user]) == 0 {
		q.order = append(q.order, j.user)
	}
	q.byUser[j.user] = append(q.byUser[j.user], j)
	q.n++
}

func (q *fairQueue) len() int { return q.n }

func (q *fairQueue) pop() job {
	u := q.order[0]
	q.order = q.order[1:]
	j := q.byUser[u][0]
	q.byUser[u] = q.byUser[u][1:]
	if len(q.byUser[u]) > 0 {
		q.order = append(q.order, u)
	}
	q.n--
	return j
}
