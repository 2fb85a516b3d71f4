package scaling_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

func TestAlarmReadsWholeAlignedPeriods(t *testing.T) {
	s := scaling.NewSeries(t0)
	for m := range 25 {
		s.Add(minute(m).Add(30*time.Second), 6) // 60 per ten minutes
	}
	a, err := scaling.NewAlarm(scaling.AlarmSpec{Metric: scaling.MessagesSent, Statistic: scaling.Sum,
		Period: 10 * time.Minute, EvaluationPeriods: 1, Comparison: scaling.GreaterThan, Threshold: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Evaluate(minute(9), s); got != scaling.InsufficientData {
		t.Errorf("before the first period completes: %v, want INSUFFICIENT_DATA", got)
	}
	if got := a.Evaluate(minute(10), s); got != scaling.InAlarm {
		t.Errorf("after 60 in the first period: %v, want ALARM", got)
	}
	if got := a.Evaluate(minute(25), s); got != scaling.InAlarm {
		t.Errorf("at 25 min the last whole period is 10-20: %v, want ALARM", got)
	}
	if got := a.Evaluate(minute(31), s); got != scaling.OK {
		t.Errorf("period 20-30 holds only 30: %v, want OK", got)
	}
}

func TestMissingDataTreatment(t *testing.T) {
	spec := scaling.AlarmSpec{Metric: scaling.TargetResponseTime, Statistic: scaling.Average, Period: time.Minute,
		EvaluationPeriods: 1, Comparison: scaling.LessThan, Threshold: 0.010}
	empty := scaling.NewSeries(t0)
	for _, c := range []struct {
		missing scaling.MissingData
		want    scaling.State
	}{{scaling.MissingBreaches, scaling.InAlarm}, {scaling.MissingIsFine, scaling.OK}, {scaling.MissingIsMissing, scaling.InsufficientData}} {
		spec.Missing = c.missing
		a, _ := scaling.NewAlarm(spec)
		if got := a.Evaluate(minute(5), empty); got != c.want {
			t.Errorf("missing data treated as %v: %v, want %v", c.missing, got, c.want)
		}
	}
}

func TestAlarmAveragesAndRejectsBadSpecs(t *testing.T) {
	s := scaling.NewSeries(t0)
	s.Add(minute(0), 0.004)
	s.Add(minute(0).Add(time.Second), 0.020)
	a, _ := scaling.NewAlarm(scaling.AlarmSpec{Metric: scaling.TargetResponseTime, Statistic: scaling.Average,
		Period: time.Minute, EvaluationPeriods: 1, Comparison: scaling.LessThan, Threshold: 0.010})
	if got := a.Evaluate(minute(1), s); got != scaling.OK {
		t.Errorf("mean 12 ms against < 10 ms: %v, want OK", got)
	}
	for _, bad := range []scaling.AlarmSpec{{Metric: "", Period: time.Minute, EvaluationPeriods: 1},
		{Metric: scaling.RequestCount, Period: 90 * time.Second, EvaluationPeriods: 1},
		{Metric: scaling.RequestCount, Period: time.Minute}} {
		if _, err := scaling.NewAlarm(bad); !errors.Is(err, scaling.ErrInvalidRule) {
			t.Errorf("%+v accepted (%v)", bad, err)
		}
	}
}

func TestSeriesForgetsBeyondRetention(t *testing.T) {
	s := scaling.NewSeries(t0)
	for m := range 400 {
		s.Add(minute(m), 1)
	}
	old := s.Periods(minute(10), time.Minute, 1)[0]
	recent := s.Periods(minute(399), time.Minute, 1)[0]
	if old.Count() != 0 || recent.Count() != 1 {
		t.Fatalf("after 400 minutes: minute 9 has %d samples, minute 398 %d; want 0 and 1", old.Count(), recent.Count())
	}
}

func TestStepsRespectCooldownAndBounds(t *testing.T) {
	g, err := scaling.NewGroup(2, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := scaling.Decision{Rule: "out", Step: true, Adjustment: 1, Cooldown: 5 * time.Minute}
	if a, err := g.Apply(minute(0), out); err != nil || a.To != 3 {
		t.Fatalf("first step: %+v, %v", a, err)
	}
	if _, err := g.Apply(minute(4), scaling.Decision{Rule: "in", Step: true, Adjustment: -1}); !errors.Is(err, scaling.ErrCoolingDown) {
		t.Fatalf("step inside the cooldown: %v, want ErrCoolingDown", err)
	}
	if _, err := g.Apply(minute(5), out); !errors.Is(err, scaling.ErrNoChange) {
		t.Fatalf("step past the maximum: %v, want ErrNoChange", err)
	}
	if a, err := g.Apply(minute(5), scaling.Decision{Rule: "track", To: 1}); err != nil || a.To != 2 {
		t.Fatalf("tracking below the minimum: %+v, %v; want clamped to 2", a, err)
	}
	if _, err := scaling.NewGroup(3, 2, 2); !errors.Is(err, scaling.ErrInvalidRule) {
		t.Fatalf("min above max accepted: %v", err)
	}
}

// perInstance builds series where the metric per instance in service is
// v for the given minutes.
func perInstance(metric scaling.Metric, inService int, vals ...float64) scaling.Metrics {
	num, den := scaling.NewSeries(t0), scaling.NewSeries(t0)
	for m, v := range vals {
		num.Add(minute(m), v*float64(inService))
		den.Add(minute(m), float64(inService))
	}
	return scaling.Metrics{metric: num, scaling.InService: den}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestTargetTrackingScalesOutFastInSlowly(t *testing.T) {
	tt, err := scaling.NewTargetTracking("tt", scaling.RequestCount, scaling.Sum, 1000)
	if err != nil {
		t.Fatal(err)
	}
	c := scaling.Capacity{Desired: 2, InService: 2}
	high := perInstance(scaling.RequestCount, 2, 500, 2500, 2500, 2500)
	if _, ok := tt.Decide(minute(3), high, c); ok {
		t.Error("scaled out after two datapoints above target")
	}
	if d, ok := tt.Decide(minute(4), high, c); !ok || d.To != 5 {
		t.Errorf("three datapoints at 2.5x target on 2 instances: %+v %v, want 5", d, ok)
	}
	low := perInstance(scaling.RequestCount, 4, repeat(400, 15)...)
	c = scaling.Capacity{Desired: 4, InService: 4}
	if _, ok := tt.Decide(minute(14), low, c); ok {
		t.Error("scaled in after 14 low datapoints")
	}
	if d, ok := tt.Decide(minute(15), low, c); !ok || d.To != 2 {
		t.Errorf("15 datapoints at 0.4x target on 4: %+v %v, want 2", d, ok)
	}
	c.Warming = 1
	if _, ok := tt.Decide(minute(15), low, c); ok {
		t.Error("scaled in while an instance warms up")
	}
}

func TestAnnotatorPolicyHoldsCapacityWhenTheQueueDrains(t *testing.T) {
	p, err := scaling.TargetTrackingAnnotator(2*time.Minute, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The queue is empty (backlog per instance 0) but 6 of 8 annotators
	// are busy: backlog alone would shrink to the minimum, utilisation
	// holds ceil(8 × 0.75 ÷ 0.8) = 8.
	m := perInstance(scaling.MessagesInFlight, 8, repeat(0.75, 20)...)
	m[scaling.MessagesVisible] = scaling.NewSeries(t0)
	for i := range 20 {
		m[scaling.MessagesVisible].Add(minute(i), 0)
	}
	if ds := p.Decide(minute(20), m, scaling.Capacity{Desired: 8, InService: 8}); len(ds) != 0 {
		t.Fatalf("policy asked %+v with a busy farm and an empty queue", ds)
	}
	m = perInstance(scaling.MessagesInFlight, 8, repeat(0.3, 20)...)
	m[scaling.MessagesVisible] = scaling.NewSeries(t0)
	if ds := p.Decide(minute(20), m, scaling.Capacity{Desired: 8, InService: 8}); len(ds) != 1 || ds[0].To != 3 {
		t.Fatalf("farm 30%% busy, queue empty: %+v, want one decision to 3", ds)
	}
}

func TestTargets(t *testing.T) {
	if got, err := scaling.AnnotatorBacklogTarget(2*time.Minute, 10*time.Second); err != nil || got != 12 {
		t.Errorf("backlog target for 2 min over 10 s jobs: %v %v, want 12", got, err)
	}
	if _, err := scaling.AnnotatorBacklogTarget(0, time.Second); !errors.Is(err, scaling.ErrInvalidRule) {
		t.Errorf("zero acceptable wait accepted: %v", err)
	}
	if scaling.WebRequestCountPerTarget != 1200 {
		t.Errorf("web target %v, want 1200 requests per instance per minute", scaling.WebRequestCountPerTarget)
	}
	steps := scaling.SeedAnnotatorSteps()
	if len(steps) != 2 || steps[0].Alarm().Spec().Threshold != 50 || steps[0].Cooldown() != 5*time.Minute || steps[1].Adjustment() != -1 {
		t.Errorf("seed annotator steps changed: %+v", steps)
	}
}

func TestFlapsCountQuickReversals(t *testing.T) {
	acts := []scaling.Activity{{At: minute(0), From: 2, To: 3}, {At: minute(5), From: 3, To: 2},
		{At: minute(30), From: 2, To: 3}, {At: minute(31), From: 3, To: 4}, {At: minute(60), From: 4, To: 2}}
	if got := scaling.Flaps(acts); got != 1 {
		t.Fatalf("%d flaps, want 1 (out then in 5 min later)", got)
	}
}
