package scalesim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

// Policy names accepted by PolicyFor.
const (
	PolicySeed           = "seed"
	PolicyTargetTracking = "target-tracking"
	PolicyFixed          = "fixed" // the group's minimum, never scaled
)

// Policies lists the policy names.
func Policies() []string { return []string{PolicySeed, PolicyTargetTracking, PolicyFixed} }

// PolicyFor is the named policy for the scenario's farm; fixed is nil.
func PolicyFor(name string, sc Scenario) (*scaling.Policy, error) {
	var p scaling.Policy
	var err error
	switch {
	case name == PolicyFixed:
		return nil, nil
	case name == PolicySeed && sc.Farm == Web:
		p = scaling.SeedWeb()
	case name == PolicySeed:
		p = scaling.SeedAnnotator()
	case name == PolicyTargetTracking && sc.Farm == Web:
		p, err = scaling.TargetTrackingWeb(scaling.WebRequestCountPerTarget)
	case name == PolicyTargetTracking:
		p, err = scaling.TargetTrackingAnnotator(sc.AcceptableWait, sc.MeanJob())
	default:
		return nil, fmt.Errorf("unknown policy %q (have %v)", name, Policies())
	}
	return &p, err
}

// instance is one launched server.
type instance struct {
	launched, stopped time.Duration
	ready             bool // booted: taking work
	busy              bool // annotator: holding a job
	draining          bool // terminating once its job is done
	gone              bool
	backlog           float64 // web: requests queued beyond capacity
}

// farm is the load model of one kind of group.
type farm interface {
	start()               // schedule the load
	ready(in *instance)   // an instance started taking work
	removed(in *instance) // an instance is leaving; false if it must drain
	sample(at time.Time)  // the minute's gauge samples, timeline point
	result(r *Result)     // farm-specific figures
}

// sim is one run.
type sim struct {
	sc        Scenario
	policy    *scaling.Policy
	rng       *rand.Rand // the load: arrivals, job sizes, latencies
	coin      *rand.Rand // the order of simultaneous alarm actions
	clk       clock
	group     *scaling.Group
	metrics   scaling.Metrics
	instances []*instance
	acts      []scaling.Activity
	timeline  []Point
	farm      farm
}

// Run simulates the scenario under the named policy; the same inputs and
// seed always give the same result.
func Run(sc Scenario, policy string, seed uint64) (*Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	p, err := PolicyFor(policy, sc)
	if err != nil {
		return nil, err
	}
	s, err := newSim(sc, p, seed)
	if err != nil {
		return nil, err
	}
	s.run()
	r := s.result(policy)
	return r, nil
}

func newSim(sc Scenario, p *scaling.Policy, seed uint64) (*sim, error) {
	g, err := scaling.NewGroup(sc.Min, sc.Max, sc.Min)
	if err != nil {
		return nil, err
	}
	s := &sim{sc: sc, policy: p, rng: rand.New(rand.NewPCG(seed, 0x5ca1e)),
		coin: rand.New(rand.NewPCG(seed, 0xc017)), group: g, metrics: scaling.Metrics{}}
	for _, m := range []scaling.Metric{scaling.MessagesSent, scaling.MessagesVisible, scaling.MessagesInFlight,
		scaling.RequestCount, scaling.TargetResponseTime, scaling.InService} {
		s.metrics[m] = scaling.NewSeries(epoch)
	}
	if sc.Farm == Web {
		s.farm = newWebFarm(s)
	} else {
		s.farm = newAnnotatorFarm(s)
	}
	return s, nil
}

// run starts the minimum already in service, as a deployed group is, and
// advances minute by minute: the load's events, then metrics and policy.
func (s *sim) run() {
	for range s.sc.Min {
		in := &instance{launched: -s.sc.Warmup, ready: true}
		s.instances = append(s.instances, in)
		s.farm.ready(in)
	}
	s.farm.start()
	for t := scaling.Resolution; t <= s.sc.Length; t += scaling.Resolution {
		s.clk.runUntil(t)
		s.tick()
	}
}

// tick records the minute that just ended and lets the policy act.
func (s *sim) tick() {
	at := s.clk.wall().Add(-time.Nanosecond)
	s.metrics[scaling.InService].Add(at, float64(s.count(func(in *instance) bool { return in.ready && !in.draining })))
	s.metrics[scaling.MessagesSent].Add(at, 0)
	s.metrics[scaling.RequestCount].Add(at, 0)
	s.farm.sample(at)
	if s.policy == nil {
		return
	}
	ds := s.policy.Decide(s.clk.wall(), s.metrics, s.capacity())
	// CloudWatch evaluates each alarm on its own; which of two alarms in
	// ALARM reaches the group first in a minute is a coin toss.
	s.coin.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	for _, d := range ds {
		if a, err := s.group.Apply(s.clk.wall(), d); err == nil {
			s.acts = append(s.acts, a)
			s.resize()
		}
	}
}

func (s *sim) capacity() scaling.Capacity {
	return scaling.Capacity{
		Desired:   s.group.Desired(),
		InService: s.count(func(in *instance) bool { return in.ready && !in.draining }),
		Warming: s.count(func(in *instance) bool {
			return !in.draining && s.clk.now-in.launched < s.sc.Warmup
		}),
	}
}

func (s *sim) count(pred func(*instance) bool) int {
	n := 0
	for _, in := range s.instances {
		if !in.gone && pred(in) {
			n++
		}
	}
	return n
}

// resize launches or terminates instances to match the desired capacity.
// Scale-in takes booting instances first, then idle ones, newest first;
// a busy annotator finishes its job before it goes (scale-in protection
// and a lifecycle hook, as the deployment sets them).
func (s *sim) resize() {
	running := s.count(func(in *instance) bool { return !in.draining })
	for ; running < s.group.Desired(); running++ {
		s.launch()
	}
	for ; running > s.group.Desired(); running-- {
		s.terminate(s.victim())
	}
}

func (s *sim) launch() {
	in := &instance{launched: s.clk.now}
	s.instances = append(s.instances, in)
	s.clk.after(s.sc.Boot, func() {
		if in.gone || in.draining {
			return
		}
		in.ready = true
		s.farm.ready(in)
	})
}

func (s *sim) victim() *instance {
	rank := func(in *instance) int {
		switch {
		case !in.ready:
			return 0
		case !in.busy:
			return 1
		default:
			return 2
		}
	}
	var best *instance
	for i := len(s.instances) - 1; i >= 0; i-- {
		in := s.instances[i]
		if in.gone || in.draining {
			continue
		}
		if best == nil || rank(in) < rank(best) {
			best = in
		}
	}
	return best
}

func (s *sim) terminate(in *instance) {
	in.draining = true
	if !in.busy {
		s.stop(in)
	}
	s.farm.removed(in)
}

func (s *sim) stop(in *instance) {
	in.gone, in.stopped = true, s.clk.now
}
