package scalesim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Calibration is what one annotation costs on one annotator instance:
// a fixed part per job (fetch the input, store the result and its index,
// update the job) and a part per variant (the engine's throughput). The
// per-variant figure comes from timing the real engine on the synthetic
// reference (gas simulate calibrate); docs/scaling.md says how.
type Calibration struct {
	PerVariant time.Duration
	PerJob     time.Duration
	// Jitter is the coefficient of variation of a job's time around the
	// calibrated mean (noisy neighbours, cache effects): each job's time is
	// the mean times a log-normal factor with mean 1.
	Jitter float64
}

// DefaultCalibration is gas simulate calibrate on the project's 2-core
// development machine (its fastest runs, rounded); the per-job part
// estimates what gas serve adds around the engine (storing input and
// result, the result index, job updates). docs/scaling.md has the figures.
var DefaultCalibration = Calibration{PerVariant: 300 * time.Nanosecond, PerJob: 20 * time.Millisecond, Jitter: 0.1}

// Validate refuses a calibration that cannot describe a job.
func (c Calibration) Validate() error {
	if c.PerVariant < 0 || c.PerJob < 0 || c.PerVariant+c.PerJob <= 0 || c.Jitter < 0 || c.Jitter > 2 {
		return fmt.Errorf("calibration: per-variant %v, per-job %v, jitter %v are not a job time", c.PerVariant, c.PerJob, c.Jitter)
	}
	return nil
}

// Mean is the mean time of a job of n variants.
func (c Calibration) Mean(variants int) time.Duration {
	return c.PerJob + time.Duration(variants)*c.PerVariant
}

// draw is one job's time: the mean scaled by a log-normal factor of mean 1
// and coefficient of variation Jitter.
func (c Calibration) draw(rng *rand.Rand, variants int) time.Duration {
	m := float64(c.Mean(variants))
	if c.Jitter == 0 {
		return time.Duration(m)
	}
	s2 := math.Log(1 + c.Jitter*c.Jitter)
	f := math.Exp(rng.NormFloat64()*math.Sqrt(s2) - s2/2)
	return time.Duration(m * f)
}
