package scaling

import (
	"fmt"
	"time"
)

// StepPolicy is a simple scaling policy: while its alarm is in ALARM it
// moves the group by a fixed adjustment, then the group cools down.
type StepPolicy struct {
	name       string
	alarm      Alarm
	adjustment int
	cooldown   time.Duration
}

// NewStepPolicy is a step of adjustment instances when alarm fires.
func NewStepPolicy(name string, alarm Alarm, adjustment int, cooldown time.Duration) (StepPolicy, error) {
	if name == "" || adjustment == 0 || cooldown < 0 {
		return StepPolicy{}, fmt.Errorf("%w: step policy %q: adjustment %d, cooldown %v", ErrInvalidRule, name, adjustment, cooldown)
	}
	return StepPolicy{name, alarm, adjustment, cooldown}, nil
}

func mustStep(name string, alarm AlarmSpec, adjustment int, cooldown time.Duration) StepPolicy {
	s, err := NewStepPolicy(name, mustAlarm(alarm), adjustment, cooldown)
	if err != nil {
		panic(err)
	}
	return s
}

// Name, Alarm, Adjustment and Cooldown describe the step for templates.
func (s StepPolicy) Name() string            { return s.name }
func (s StepPolicy) Alarm() Alarm            { return s.alarm }
func (s StepPolicy) Adjustment() int         { return s.adjustment }
func (s StepPolicy) Cooldown() time.Duration { return s.cooldown }

// Decide asks for the step while the alarm is in ALARM.
func (s StepPolicy) Decide(now time.Time, m Metrics, _ Capacity) (Decision, bool) {
	if s.alarm.Evaluate(now, m[s.alarm.spec.Metric]) != InAlarm {
		return Decision{}, false
	}
	return Decision{Rule: s.name, Step: true, Adjustment: s.adjustment, Cooldown: s.cooldown}, true
}

// The seed deployment's groups: both farms ran between 2 and 10 instances.
const (
	SeedMinInstances = 2
	SeedMaxInstances = 10
)

// SeedWebSteps are the original deployment's web policies, exactly: scale
// out by one when the load balancer's RequestCount exceeds 200 in a
// 60 s period (300 s cooldown); scale in by one when TargetResponseTime is
// under 10 ms for 60 s, with no cooldown and missing data treated as
// breaching. Under steady load a fast server is under 10 ms all the time,
// so the scale-in fires every minute between the scale-outs: the flapping
// docs/scaling.md shows.
func SeedWebSteps() []StepPolicy {
	return []StepPolicy{
		mustStep("seed-web-out", AlarmSpec{Metric: RequestCount, Statistic: Sum, Period: time.Minute,
			EvaluationPeriods: 1, Comparison: GreaterThan, Threshold: 200, Missing: MissingIsMissing}, +1, 300*time.Second),
		mustStep("seed-web-in", AlarmSpec{Metric: TargetResponseTime, Statistic: Average, Period: time.Minute,
			EvaluationPeriods: 1, Comparison: LessThan, Threshold: 0.010, Missing: MissingBreaches}, -1, 0),
	}
}

// SeedAnnotatorSteps are the original deployment's annotator policies,
// exactly: scale out by one when more than 50 jobs were submitted
// (NumberOfMessagesSent) in a 600 s period, scale in by one when fewer
// than 5 were, each with a 300 s cooldown. They follow submissions, not
// the backlog, so any steady load above 5 jobs in ten minutes climbs to
// the maximum whatever the annotators could handle.
func SeedAnnotatorSteps() []StepPolicy {
	return []StepPolicy{
		mustStep("seed-annotator-out", AlarmSpec{Metric: MessagesSent, Statistic: Sum, Period: 600 * time.Second,
			EvaluationPeriods: 1, Comparison: GreaterThan, Threshold: 50, Missing: MissingIsMissing}, +1, 300*time.Second),
		mustStep("seed-annotator-in", AlarmSpec{Metric: MessagesSent, Statistic: Sum, Period: 600 * time.Second,
			EvaluationPeriods: 1, Comparison: LessThan, Threshold: 5, Missing: MissingBreaches}, -1, 300*time.Second),
	}
}

// SeedWeb and SeedAnnotator are the seed step policies as policies.
func SeedWeb() Policy       { return stepPolicy("seed", SeedWebSteps()) }
func SeedAnnotator() Policy { return stepPolicy("seed", SeedAnnotatorSteps()) }

func stepPolicy(name string, steps []StepPolicy) Policy {
	rules := make([]Rule, len(steps))
	for i, s := range steps {
		rules[i] = s
	}
	return Policy{name, rules}
}
