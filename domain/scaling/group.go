package scaling

import (
	"errors"
	"fmt"
	"time"
)

// ErrCoolingDown refuses a step while the group's cooldown runs: simple
// scaling policies wait for it, which is what let the seed web policy's
// uncooled scale-in act between its scale-outs.
var ErrCoolingDown = errors.New("scaling group is cooling down")

// ErrNoChange refuses a decision that would leave the desired capacity as
// it is (already at the minimum or maximum, or already there).
var ErrNoChange = errors.New("desired capacity unchanged")

// Group is an autoscaling group's sizing state: the bounds, the desired
// capacity and the end of the current cooldown. Instances themselves (booting,
// warming up, in service) belong to whoever runs them.
type Group struct {
	min, max, desired int
	coolUntil         time.Time
}

// NewGroup is a group of desired instances within [min, max].
func NewGroup(min, max, desired int) (*Group, error) {
	switch {
	case min < 0 || max < 1 || min > max:
		return nil, fmt.Errorf("%w: group bounds [%d, %d]", ErrInvalidRule, min, max)
	case desired < min || desired > max:
		return nil, fmt.Errorf("%w: desired %d outside [%d, %d]", ErrInvalidRule, desired, min, max)
	}
	return &Group{min: min, max: max, desired: desired}, nil
}

// Min, Max and Desired are the group's bounds and current desired capacity.
func (g *Group) Min() int     { return g.min }
func (g *Group) Max() int     { return g.max }
func (g *Group) Desired() int { return g.desired }

// Activity is one change of desired capacity and the rule that made it.
type Activity struct {
	At       time.Time
	From, To int
	Rule     string
}

// Delta is the activity's change in instances (negative: scale-in).
func (a Activity) Delta() int { return a.To - a.From }

// Apply carries out a decision: a step moves the desired capacity by its
// adjustment unless the group is cooling down, then starts the step's
// cooldown; a tracking decision sets it and ignores cooldowns, as target
// tracking does. Either way the result is clamped to [min, max].
func (g *Group) Apply(now time.Time, d Decision) (Activity, error) {
	to := d.To
	if d.Step {
		if now.Before(g.coolUntil) {
			return Activity{}, fmt.Errorf("%s at %v: %w until %v", d.Rule, now, ErrCoolingDown, g.coolUntil)
		}
		to = g.desired + d.Adjustment
	}
	to = min(max(to, g.min), g.max)
	if to == g.desired {
		return Activity{}, fmt.Errorf("%s: %w at %d", d.Rule, ErrNoChange, to)
	}
	a := Activity{At: now, From: g.desired, To: to, Rule: d.Rule}
	g.desired = to
	if d.Step {
		g.coolUntil = now.Add(d.Cooldown)
	}
	return a, nil
}

// Capacity is what a policy sees of the group's instances when it decides.
type Capacity struct {
	Desired   int // the group's desired capacity
	InService int // booted, warmed up and taking work
	Warming   int // launched but not yet counted in the metrics
}

// Decision is what one rule asks of the group.
type Decision struct {
	Rule       string
	Step       bool          // a simple step: relative, subject to cooldown
	Adjustment int           // the step's change
	Cooldown   time.Duration // the step's cooldown
	To         int           // a tracking decision's new desired capacity
}

// Rule is one scaling policy of a group: a step policy with its alarm, or
// target tracking.
type Rule interface {
	Name() string
	// Decide is the rule's request at now, if its alarm is in ALARM.
	Decide(now time.Time, m Metrics, c Capacity) (Decision, bool)
}

// Metrics is the series a group's rules read, by metric.
type Metrics map[Metric]*Series

// Policy is a named set of rules for one group, e.g. the seed web
// policy's scale-out and scale-in alarms.
type Policy struct {
	name  string
	rules []Rule
}

// NewPolicy names a set of rules.
func NewPolicy(name string, rules ...Rule) (Policy, error) {
	if name == "" || len(rules) == 0 {
		return Policy{}, fmt.Errorf("%w: a policy needs a name and at least one rule", ErrInvalidRule)
	}
	return Policy{name, rules}, nil
}

// Name and Rules describe the policy for reports and templates.
func (p Policy) Name() string  { return p.name }
func (p Policy) Rules() []Rule { return append([]Rule(nil), p.rules...) }

// Decide is what the policy asks of the group at now. Step rules ask
// independently, in rule order. Tracking rules combine as EC2 Auto Scaling
// combines several target tracking policies: the group scales out to the
// largest capacity any of them wants, and scales in only when every one of
// them wants to, to the largest of their smaller capacities. Auto Scaling
// invokes each alarm's action once a minute while it stays in ALARM, so
// callers evaluate once per Resolution.
func (p Policy) Decide(now time.Time, m Metrics, c Capacity) []Decision {
	var out []Decision
	var ups, downs []Decision
	tracking := 0
	for _, r := range p.rules {
		d, ok := r.Decide(now, m, c)
		if _, step := r.(StepPolicy); step {
			if ok {
				out = append(out, d)
			}
			continue
		}
		tracking++
		switch {
		case ok && d.To > c.Desired:
			ups = append(ups, d)
		case ok && d.To < c.Desired:
			downs = append(downs, d)
		}
	}
	if len(ups) > 0 {
		return append(out, largest(ups))
	}
	if tracking > 0 && len(downs) == tracking {
		return append(out, largest(downs))
	}
	return out
}

func largest(ds []Decision) Decision {
	best := ds[0]
	for _, d := range ds[1:] {
		if d.To > best.To {
			best = d
		}
	}
	return best
}
