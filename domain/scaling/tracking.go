package scaling

import (
	"fmt"
	"math"
	"time"
)

// Target tracking's alarms, as EC2 Auto Scaling creates them: scale out
// after ScaleOutDatapoints one-minute datapoints above the target, scale in
// after ScaleInDatapoints below ScaleInRatio of it. Quick to add, slow to
// remove: that asymmetry is what keeps it from flapping.
const (
	ScaleOutDatapoints = 3
	ScaleInDatapoints  = 15
	ScaleInRatio       = 0.9
)

// TargetTracking keeps a per-instance metric (a group metric divided by
// the instances in service) at a target by setting the desired capacity
// to ceil(in service × value ÷ target).
type TargetTracking struct {
	name   string
	metric Metric
	stat   Statistic
	target float64
}

// NewTargetTracking tracks metric (reduced per minute by stat, then
// divided by InService) at target per instance.
func NewTargetTracking(name string, metric Metric, stat Statistic, target float64) (TargetTracking, error) {
	if name == "" || metric == "" || !(target > 0) || math.IsInf(target, 0) {
		return TargetTracking{}, fmt.Errorf("%w: target tracking %q on %q at %v", ErrInvalidRule, name, metric, target)
	}
	return TargetTracking{name, metric, stat, target}, nil
}

// Name, Metric, Statistic and Target describe the rule for templates.
func (t TargetTracking) Name() string         { return t.name }
func (t TargetTracking) Metric() Metric       { return t.metric }
func (t TargetTracking) Statistic() Statistic { return t.stat }
func (t TargetTracking) Target() float64      { return t.target }

// Decide scales out when the last ScaleOutDatapoints per-instance values
// exceed the target, and in when the last ScaleInDatapoints are under
// ScaleInRatio of it and no instance is still warming up. Minutes without
// instances in service count as missing.
func (t TargetTracking) Decide(now time.Time, m Metrics, c Capacity) (Decision, bool) {
	vals := t.perInstance(now, m, ScaleInDatapoints)
	if len(vals) == 0 {
		return Decision{}, false
	}
	last := vals[len(vals)-1]
	want := int(math.Ceil(float64(c.InService) * last / t.target))
	switch {
	case all(vals[len(vals)-min(ScaleOutDatapoints, len(vals)):], ScaleOutDatapoints, func(v float64) bool { return v > t.target }):
		if want > c.Desired {
			return Decision{Rule: t.name, To: want}, true
		}
	case c.Warming == 0 && all(vals, ScaleInDatapoints, func(v float64) bool { return v < ScaleInRatio*t.target }):
		if want < c.Desired {
			return Decision{Rule: t.name, To: want}, true
		}
	}
	return Decision{}, false
}

// perInstance is the metric per instance in service for the last n
// minutes; minutes without data end the run of values, oldest first.
func (t TargetTracking) perInstance(now time.Time, m Metrics, n int) []float64 {
	num, den := m[t.metric], m[InService]
	if den == nil {
		return nil
	}
	var nums []Datapoint
	if num != nil {
		nums = num.Periods(now, Resolution, n)
	}
	dens := den.Periods(now, Resolution, n)
	var out []float64
	for i := range n {
		d, ok := dens[i].Value(Average)
		if !ok || d <= 0 {
			out = out[:0]
			continue
		}
		v := 0.0 // a group metric with no samples (no requests, no messages) is zero
		if nums != nil {
			v, _ = nums[i].Value(t.stat)
		}
		out = append(out, v/d)
	}
	return out
}

// all reports whether vals has at least n values and every one passes.
func all(vals []float64, n int, pass func(float64) bool) bool {
	if len(vals) < n {
		return false
	}
	for _, v := range vals {
		if !pass(v) {
			return false
		}
	}
	return true
}
