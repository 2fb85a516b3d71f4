package scalesim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

// Result is one run's figures; the JSON names are gas simulate's --json.
type Result struct {
	Scenario       string  `json:"scenario"`
	Policy         string  `json:"policy"`
	Farm           Farm    `json:"farm"`
	MaxInstances   int     `json:"max_instances"`
	FinalInstances int     `json:"final_instances"`
	InstanceHours  float64 `json:"instance_hours"`
	// Annotator farm.
	Jobs      int                  `json:"jobs,omitempty"`
	Unstarted int                  `json:"unstarted,omitempty"`
	P50WaitS  float64              `json:"p50_wait_s"`
	P95WaitS  float64              `json:"p95_wait_s"`
	MaxWaitS  float64              `json:"max_wait_s"`
	Users     map[string]UserWaits `json:"users,omitempty"`
	// Web farm.
	Requests     int     `json:"requests,omitempty"`
	Errors       int     `json:"errors,omitempty"`
	P99LatencyMs float64 `json:"p99_latency_ms,omitempty"`
	// Scaling.
	ScaleOuts          int     `json:"scale_outs"`
	ScaleIns           int     `json:"scale_ins"`
	Flaps              int     `json:"flaps"`
	ScaleInsDuringLoad int     `json:"scale_ins_during_steady_load"`
	Events             []Event `json:"events"`
	// Timeline is one point a minute, for plots.
	Timeline []Point `json:"-"`
	// Waits is every job's wait in start order (annotator farm).
	Waits []time.Duration `json:"-"`
}

// UserWaits is one user's share of an annotator run.
type UserWaits struct {
	Jobs     int     `json:"jobs"`
	P95WaitS float64 `json:"p95_wait_s"`
}

// Event is one scaling activity.
type Event struct {
	AtS  float64 `json:"at_s"`
	From int     `json:"from"`
	To   int     `json:"to"`
	Rule string  `json:"rule"`
}

// Point is the state at the end of one simulated minute.
type Point struct {
	At        time.Duration
	Instances int     // launched and not yet terminated (billed)
	InService int     // taking work
	Load      float64 // annotator: jobs waiting; web: requests per second
	Delay     float64 // annotator: p95 wait of jobs started this minute (s); web: p99 latency (ms)
}

func (s *sim) point(load, delay float64) {
	s.timeline = append(s.timeline, Point{
		At:        s.clk.now,
		Instances: s.count(func(*instance) bool { return true }),
		InService: s.count(func(in *instance) bool { return in.ready && !in.draining }),
		Load:      load, Delay: delay,
	})
}

func (s *sim) result(policy string) *Result {
	r := &Result{Scenario: s.sc.Name, Policy: policy, Farm: s.sc.Farm, Timeline: s.timeline, Events: []Event{}}
	for _, p := range s.timeline {
		r.MaxInstances = max(r.MaxInstances, p.Instances)
	}
	r.FinalInstances = s.count(func(*instance) bool { return true })
	r.InstanceHours = s.instanceHours()
	s.farm.result(r)
	from, to := s.sc.Steady()
	for _, a := range s.acts {
		at := a.At.Sub(epoch)
		r.Events = append(r.Events, Event{AtS: at.Seconds(), From: a.From, To: a.To, Rule: a.Rule})
		if a.Delta() > 0 {
			r.ScaleOuts++
			continue
		}
		r.ScaleIns++
		if at > from && at <= to {
			r.ScaleInsDuringLoad++
		}
	}
	r.Flaps = scaling.Flaps(s.acts)
	return r
}

// instanceHours is the billed time of every instance, launch to
// termination (or the end of the run); the minimum counts from time zero.
func (s *sim) instanceHours() float64 {
	var total time.Duration
	for _, in := range s.instances {
		end := s.clk.now
		if in.gone {
			end = in.stopped
		}
		total += end - max(0, in.launched)
	}
	return math.Round(total.Hours()*1000) / 1000
}

// percentile is the p-th percentile (nearest rank) of ds; 0 when empty.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Percentile is the p-th percentile (nearest rank) of ds, as the
// simulator computes its own, for comparisons with measured runs.
func Percentile(ds []time.Duration, p float64) time.Duration { return percentile(ds, p) }

// Replay runs a recorded trace of jobs through a fixed pool of annotators
// (first in, first out) and returns each job's wait in start order: the
// simulator's prediction for a real run with the same arrivals and pool.
func Replay(trace []Arrival, pool int, length time.Duration) (*Result, error) {
	if pool < 1 || len(trace) == 0 {
		return nil, fmt.Errorf("replay needs a pool and at least one job (pool %d, %d jobs)", pool, len(trace))
	}
	sc := Scenario{Name: "replay", Farm: Annotator, Length: length, Min: pool, Max: pool,
		Sources: []Source{{User: "replay"}}, Calibration: DefaultCalibration, AcceptableWait: time.Minute}
	s, err := newSim(sc, nil, 1)
	if err != nil {
		return nil, err
	}
	s.farm.(*annotatorFarm).trace = slices.Clone(trace)
	s.run()
	return s.result(PolicyFixed), nil
}
