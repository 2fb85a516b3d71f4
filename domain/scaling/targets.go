package scaling

import (
	"fmt"
	"math"
	"time"
)

// Web farm target: ALBRequestCountPerTarget, the requests one web
// instance receives per minute. An instance's latency grows as
// base ÷ (1 − utilisation), so tracking half its capacity keeps the mean
// within twice the unloaded latency and leaves room for a doubling of load
// during the three minutes scale-out takes to notice.
const (
	// WebInstanceCapacity is the requests per second one web instance
	// serves before it saturates (the simulator's model of the original's
	// small instances; measure yours with gas load web, docs/scaling.md).
	WebInstanceCapacity = 40.0
	// WebTargetUtilisation is the share of that capacity tracking aims at.
	WebTargetUtilisation = 0.5
)

// WebRequestCountPerTarget is the target of the web farm's
// ALBRequestCountPerTarget tracking for the default capacity: 1,200
// requests per instance per minute.
var WebRequestCountPerTarget = WebRequestTarget(WebInstanceCapacity, WebTargetUtilisation)

// WebRequestTarget is requests per instance per minute for an instance
// serving capacity requests per second, tracked at utilisation.
func WebRequestTarget(capacity, utilisation float64) float64 {
	return math.Round(capacity * utilisation * Resolution.Seconds())
}

// DefaultAcceptableWait is how long a submitted job may wait for an
// annotator before the farm should grow.
const DefaultAcceptableWait = 2 * time.Minute

// AnnotatorBacklogTarget is the annotator farm's target backlog per
// instance (ApproximateNumberOfMessagesVisible ÷ InService): a job that
// arrives behind b waiting jobs per instance waits about b mean job times,
// so acceptable wait ÷ mean job time is the backlog to hold.
func AnnotatorBacklogTarget(acceptableWait, meanJob time.Duration) (float64, error) {
	if acceptableWait <= 0 || meanJob <= 0 {
		return 0, fmt.Errorf("%w: acceptable wait %v and mean job time %v must be positive", ErrInvalidRule, acceptableWait, meanJob)
	}
	return acceptableWait.Seconds() / meanJob.Seconds(), nil
}

// TargetTrackingWeb is the web farm's shipped policy: track
// ALBRequestCountPerTarget (RequestCount per minute per instance in
// service) at requestsPerTarget.
func TargetTrackingWeb(requestsPerTarget float64) (Policy, error) {
	t, err := NewTargetTracking("web-requests-per-target", RequestCount, Sum, requestsPerTarget)
	if err != nil {
		return Policy{}, err
	}
	return NewPolicy("target-tracking", t)
}

// AnnotatorUtilisationTarget is the share of annotators that should be
// busy (jobs in flight per instance in service) once the backlog is gone.
const AnnotatorUtilisationTarget = 0.8

// TargetTrackingAnnotator is the annotator farm's shipped policy, two
// target tracking rules: backlog per instance at
// AnnotatorBacklogTarget(acceptableWait, meanJob) grows the farm in
// proportion to a queue as soon as waits would exceed the acceptable one;
// jobs in flight per instance at AnnotatorUtilisationTarget holds enough
// annotators for the arrival rate once the queue has drained. Backlog
// alone would then read zero and shrink the farm to its minimum, only for
// the queue to build up again: a slow flap.
func TargetTrackingAnnotator(acceptableWait, meanJob time.Duration) (Policy, error) {
	target, err := AnnotatorBacklogTarget(acceptableWait, meanJob)
	if err != nil {
		return Policy{}, err
	}
	backlog, err := NewTargetTracking("annotator-backlog-per-instance", MessagesVisible, Average, target)
	if err != nil {
		return Policy{}, err
	}
	busy, err := NewTargetTracking("annotator-jobs-in-flight-per-instance", MessagesInFlight, Average, AnnotatorUtilisationTarget)
	if err != nil {
		return Policy{}, err
	}
	return NewPolicy("target-tracking", backlog, busy)
}

// FlapWindow is how soon a reversal of direction counts as a flap: a
// scale-in within ten minutes of a scale-out (or the reverse) undoes
// capacity the group had just paid to boot.
const FlapWindow = 10 * time.Minute

// Flaps counts reversals of direction within FlapWindow in a group's
// activities (in time order).
func Flaps(acts []Activity) int {
	n := 0
	for i := 1; i < len(acts); i++ {
		prev, cur := acts[i-1], acts[i]
		if (prev.Delta() > 0) != (cur.Delta() > 0) && cur.At.Sub(prev.At) <= FlapWindow {
			n++
		}
	}
	return n
}
