// Package scaling holds the rules that size GAS's two farms: the web
// servers behind the load balancer and the annotators reading the annotation
// queue. It states them once, as data and arithmetic with no I/O, so the
// scaling simulator (gas simulate scaling), local mode's elastic annotator
// pool (gas serve) and the CloudFormation template's alarms and targets all
// obey the same numbers.
//
// The vocabulary is CloudWatch's and EC2 Auto Scaling's, because that is
// where the policies finally run: metrics are one-minute datapoints
// (Series), alarms compare a statistic over whole metric periods (Alarm),
// simple step policies move a group by a fixed adjustment and then cool down
// (StepPolicy), and target tracking sizes the group so a per-instance metric
// sits at a target (TargetTracking).
package scaling

import (
	"math"
	"time"
)

// Resolution is the width of one datapoint: CloudWatch's standard
// resolution, and the rate at which alarms are evaluated and scaling
// policies invoked.
const Resolution = time.Minute

// Retention is how much history a Series keeps. Alarms look back at most
// a few periods; three hours covers the longest (the seed annotator
// policy's 600 s periods) many times over while bounding memory in a
// long-running local server.
const Retention = 3 * time.Hour

// Metric names a measurement. The names are CloudWatch's so a reader can
// match the simulator, local mode and the CloudFormation template.
type Metric string

// The metrics GAS's policies read.
const (
	// MessagesSent is NumberOfMessagesSent of the annotation queue: jobs
	// submitted (Sum per period).
	MessagesSent Metric = "NumberOfMessagesSent"
	// MessagesVisible is ApproximateNumberOfMessagesVisible: jobs waiting
	// for an annotator (sampled once a minute).
	MessagesVisible Metric = "ApproximateNumberOfMessagesVisible"
	// MessagesInFlight is ApproximateNumberOfMessagesNotVisible: jobs an
	// annotator has received and is working on (sampled once a minute).
	// Each annotator holds one job at a time, so per instance in service it
	// is the farm's utilisation.
	MessagesInFlight Metric = "ApproximateNumberOfMessagesNotVisible"
	// RequestCount is the load balancer's RequestCount (Sum per period).
	RequestCount Metric = "RequestCount"
	// TargetResponseTime is the load balancer's mean response time of the
	// targets, in seconds (Average per period; no data when idle).
	TargetResponseTime Metric = "TargetResponseTime"
	// InService is GroupInServiceInstances: instances booted, warmed up
	// and taking work (sampled once a minute).
	InService Metric = "GroupInServiceInstances"
)

// Statistic is how an alarm reduces a period's samples to one value.
type Statistic int

// The statistics GAS's alarms use.
const (
	Sum Statistic = iota
	Average
	Maximum
)

func (s Statistic) String() string {
	return [...]string{"Sum", "Average", "Maximum"}[s]
}

// Datapoint is the samples of one period reduced on demand by a Statistic.
type Datapoint struct {
	sum   float64
	max   float64
	count int
}

// Value is the datapoint under stat; ok is false when the period had no
// samples (CloudWatch's missing data).
func (d Datapoint) Value(stat Statistic) (v float64, ok bool) {
	if d.count == 0 {
		return 0, false
	}
	switch stat {
	case Average:
		return d.sum / float64(d.count), true
	case Maximum:
		return d.max, true
	default:
		return d.sum, true
	}
}

// Count is how many samples the period holds.
func (d Datapoint) Count() int { return d.count }

func (d Datapoint) merge(o Datapoint) Datapoint {
	if o.count == 0 {
		return d
	}
	if d.count == 0 || o.max > d.max {
		d.max = o.max
	}
	d.sum += o.sum
	d.count += o.count
	return d
}

// Series is one metric's one-minute datapoints since an origin, trimmed to
// Retention. Periods are aligned to the origin, as CloudWatch aligns them
// to the clock, so an alarm sees the same datapoints whenever it looks.
type Series struct {
	origin time.Time // start of points[0], a whole number of minutes after the first origin
	points []Datapoint
}

// NewSeries starts an empty series whose first minute begins at origin.
func NewSeries(origin time.Time) *Series { return &Series{origin: origin} }

// Add records a sample at time at. Samples before the origin or older than
// the retained history are dropped: they can no longer change a decision.
func (s *Series) Add(at time.Time, v float64) {
	i := s.index(at)
	if i < 0 {
		return
	}
	for len(s.points) <= i {
		s.points = append(s.points, Datapoint{})
	}
	s.points[i] = s.points[i].merge(Datapoint{sum: v, max: v, count: 1})
	s.trim()
}

func (s *Series) index(at time.Time) int {
	if at.Before(s.origin) {
		return -1
	}
	return int(at.Sub(s.origin) / Resolution)
}

func (s *Series) trim() {
	keep := int(Retention / Resolution)
	if drop := len(s.points) - keep; drop > 0 {
		s.points = append(s.points[:0:0], s.points[drop:]...)
		s.origin = s.origin.Add(time.Duration(drop) * Resolution)
	}
}

// Periods returns the last n complete periods of the given length that end
// at or before end, oldest first. Periods not yet (or no longer) recorded
// come back empty, which alarms treat as missing data.
func (s *Series) Periods(end time.Time, period time.Duration, n int) []Datapoint {
	per := max(1, int(period/Resolution))
	last := s.alignedEnd(end, per)
	out := make([]Datapoint, n)
	for k := range n {
		first := last - (n-k)*per
		for i := first; i < first+per; i++ {
			if i >= 0 && i < len(s.points) {
				out[k] = out[k].merge(s.points[i])
			}
		}
	}
	return out
}

// alignedEnd is the index just past the last whole period ending by end,
// aligned to multiples of per minutes since the first origin.
func (s *Series) alignedEnd(end time.Time, per int) int {
	minutes := int(math.Floor(float64(end.Sub(s.origin)) / float64(Resolution)))
	shift := int(s.originShift())
	abs := minutes + shift
	abs -= ((abs % per) + per) % per
	return abs - shift
}

// originShift is how many minutes trimming has moved the origin, counted
// modulo a day so alignment survives trimming for every sensible period.
func (s *Series) originShift() int64 {
	return int64(s.origin.Sub(s.origin.Truncate(24*time.Hour)) / Resolution)
}
