package scalesim

import (
	"fmt"
	"sort"
	"time"
)

// Farm is which group a scenario scales.
type Farm string

// The two autoscaled farms.
const (
	Web       Farm = "web"
	Annotator Farm = "annotator"
)

// Shape is one source's load over time: nothing until Start, a linear
// ramp to Peak per second over Ramp, Peak for Hold, then nothing.
type Shape struct {
	Start, Ramp, Hold time.Duration
	Peak              float64
}

// Rate is the arrivals per second at t.
func (s Shape) Rate(t time.Duration) float64 {
	switch {
	case t < s.Start || t >= s.Start+s.Ramp+s.Hold:
		return 0
	case t < s.Start+s.Ramp:
		return s.Peak * float64(t-s.Start) / float64(s.Ramp)
	default:
		return s.Peak
	}
}

// End is when the source stops.
func (s Shape) End() time.Duration { return s.Start + s.Ramp + s.Hold }

// Source is one user (or one crowd of users) and what they send.
type Source struct {
	User     string
	Shape    Shape
	Variants int     // annotator: median variants per job
	Spread   float64 // annotator: log-normal sigma of the job size (0: all equal)
}

// WebModel is how a web instance's latency grows with its load: requests
// take Base when idle and Base ÷ (1 − utilisation) under load (an M/M/1
// server), plus whatever queue an overloaded instance has built up.
type WebModel struct {
	Capacity float64       // requests per second one instance serves
	Base     time.Duration // mean latency of an idle instance
}

// Scenario is a load on one farm and the farm's fixed parameters.
type Scenario struct {
	Name   string
	About  string
	Farm   Farm
	Length time.Duration // simulated time, load and its aftermath
	// Sources are the loads; the first one's hold is the steady phase.
	Sources  []Source
	Min, Max int
	// Boot is launch to taking work; Warmup is target tracking's instance
	// warm-up, counted from launch, during which scale-in waits.
	Boot, Warmup time.Duration
	// Fair dispatches waiting jobs round-robin between users instead of
	// first in, first out (annotator farm).
	Fair bool
	Web  WebModel
	// Calibration prices jobs (annotator farm).
	Calibration Calibration
	// AcceptableWait is the annotator target tracking's acceptable wait.
	AcceptableWait time.Duration
}

// Steady is the first source's hold: where a scale-in is a flap by
// definition, since the load does not change.
func (s Scenario) Steady() (from, to time.Duration) {
	sh := s.Sources[0].Shape
	return sh.Start + sh.Ramp, sh.End()
}

// MeanJob is the mean annotation time of the scenario's jobs, weighted by
// how many each source sends.
func (s Scenario) MeanJob() time.Duration {
	var jobs, total float64
	for _, src := range s.Sources {
		n := src.Shape.Peak * (src.Shape.Ramp.Seconds()/2 + src.Shape.Hold.Seconds())
		jobs += n
		total += n * float64(s.Calibration.Mean(src.Variants))
	}
	if jobs == 0 {
		return s.Calibration.Mean(0)
	}
	return time.Duration(total / jobs)
}

// Validate refuses a scenario the simulator cannot run.
func (s Scenario) Validate() error {
	switch {
	case s.Farm != Web && s.Farm != Annotator:
		return fmt.Errorf("scenario %q: unknown farm %q", s.Name, s.Farm)
	case len(s.Sources) == 0 || s.Length <= 0:
		return fmt.Errorf("scenario %q: no load or no time", s.Name)
	case s.Min < 0 || s.Max < 1 || s.Min > s.Max:
		return fmt.Errorf("scenario %q: group bounds [%d, %d]", s.Name, s.Min, s.Max)
	case s.Farm == Web && (s.Web.Capacity <= 0 || s.Web.Base <= 0):
		return fmt.Errorf("scenario %q: web model needs capacity and base latency", s.Name)
	case s.Farm == Annotator && s.AcceptableWait <= 0:
		return fmt.Errorf("scenario %q: acceptable wait must be positive", s.Name)
	}
	for _, src := range s.Sources {
		if src.Shape.Peak < 0 || src.Shape.Ramp < 0 || src.Shape.Hold < 0 || src.Variants < 0 || src.Spread < 0 {
			return fmt.Errorf("scenario %q: source %q has a negative rate, duration or size", s.Name, src.User)
		}
	}
	if s.Farm == Annotator {
		return s.Calibration.Validate()
	}
	return nil
}

// Scenario names.
var scenarios = map[string]func() Scenario{
	"seed-web":       seedWeb,
	"seed-annotator": seedAnnotator,
	"skewed":         skewed,
}

// Scenarios lists the built-in scenario names.
func Scenarios() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup is a built-in scenario priced with cal (zero: DefaultCalibration).
func Lookup(name string, cal Calibration) (Scenario, error) {
	f, ok := scenarios[name]
	if !ok {
		return Scenario{}, fmt.Errorf("unknown scenario %q (have %v)", name, Scenarios())
	}
	s := f()
	if cal != (Calibration{}) {
		s.Calibration = cal
	}
	return s, s.Validate()
}
