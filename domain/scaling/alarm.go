package scaling

import (
	"errors"
	"fmt"
	"time"
)

// Comparison is how an alarm compares a datapoint with its threshold.
type Comparison int

// The comparisons GAS's alarms use.
const (
	GreaterThan Comparison = iota
	LessThan
)

func (c Comparison) String() string {
	return [...]string{"GreaterThanThreshold", "LessThanThreshold"}[c]
}

// MissingData is how an alarm treats a period without samples, as
// CloudWatch's TreatMissingData does.
type MissingData int

// The treatments GAS's alarms use.
const (
	// MissingIsMissing leaves the period out; with no data at all the alarm
	// has insufficient data and does nothing.
	MissingIsMissing MissingData = iota
	// MissingBreaches counts the period as breaching: the seed web
	// policy's scale-in alarm did this, so an idle farm shrank.
	MissingBreaches
	// MissingIsFine counts the period as not breaching.
	MissingIsFine
)

func (m MissingData) String() string {
	return [...]string{"missing", "breaching", "notBreaching"}[m]
}

// State is an alarm's verdict.
type State int

// The alarm states.
const (
	InsufficientData State = iota
	OK
	InAlarm
)

func (s State) String() string {
	return [...]string{"INSUFFICIENT_DATA", "OK", "ALARM"}[s]
}

// ErrInvalidRule is wrapped by every constructor that refuses a rule.
var ErrInvalidRule = errors.New("invalid scaling rule")

// AlarmSpec is an alarm's definition, the fields a CloudWatch alarm has.
type AlarmSpec struct {
	Metric            Metric
	Statistic         Statistic
	Period            time.Duration
	EvaluationPeriods int
	Comparison        Comparison
	Threshold         float64
	Missing           MissingData
}

// Alarm is a validated AlarmSpec. It is in ALARM when every one of its
// last EvaluationPeriods complete periods breaches.
type Alarm struct{ spec AlarmSpec }

// NewAlarm validates spec: whole-minute periods, at least one evaluation
// period.
func NewAlarm(spec AlarmSpec) (Alarm, error) {
	switch {
	case spec.Metric == "":
		return Alarm{}, fmt.Errorf("%w: alarm without a metric", ErrInvalidRule)
	case spec.Period < Resolution || spec.Period%Resolution != 0:
		return Alarm{}, fmt.Errorf("%w: alarm period %v is not a whole number of minutes", ErrInvalidRule, spec.Period)
	case spec.EvaluationPeriods < 1:
		return Alarm{}, fmt.Errorf("%w: alarm needs at least one evaluation period", ErrInvalidRule)
	}
	return Alarm{spec}, nil
}

func mustAlarm(spec AlarmSpec) Alarm {
	a, err := NewAlarm(spec)
	if err != nil {
		panic(err)
	}
	return a
}

// Spec is the alarm's definition, for templates and reports.
func (a Alarm) Spec() AlarmSpec { return a.spec }

// Evaluate is the alarm's state at now given the metric's series (nil
// means no data at all).
func (a Alarm) Evaluate(now time.Time, s *Series) State {
	var points []Datapoint
	if s != nil {
		points = s.Periods(now, a.spec.Period, a.spec.EvaluationPeriods)
	} else {
		points = make([]Datapoint, a.spec.EvaluationPeriods)
	}
	seen, breaching := 0, 0
	for _, p := range points {
		b, counted := a.breaches(p)
		if counted {
			seen++
		}
		if b {
			breaching++
		}
	}
	switch {
	case seen == 0:
		return InsufficientData
	case breaching == seen:
		return InAlarm
	default:
		return OK
	}
}

// breaches reports whether p breaches and whether it counts at all.
func (a Alarm) breaches(p Datapoint) (breach, counted bool) {
	v, ok := p.Value(a.spec.Statistic)
	if !ok {
		switch a.spec.Missing {
		case MissingBreaches:
			return true, true
		case MissingIsFine:
			return false, true
		default:
			return false, false
		}
	}
	if a.spec.Comparison == LessThan {
		return v < a.spec.Threshold, true
	}
	return v > a.spec.Threshold, true
}
