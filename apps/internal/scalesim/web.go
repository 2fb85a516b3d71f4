package scalesim

import (
	"math"
	"time"

	"github.com/gasproject/gas/domain/scaling"
)

// webFarm is the load balancer and the web instances behind it, stepped
// once a second: the second's requests are spread evenly over the
// instances in service, and each request's latency is drawn from an
// exponential distribution whose mean grows with its instance's load.
type webFarm struct {
	s         *sim
	latencies []time.Duration
	minute    []time.Duration // latencies of this minute
	requests  int
	errors    int // requests that found no instance in service
}

func newWebFarm(s *sim) *webFarm { return &webFarm{s: s} }

func (f *webFarm) start() {
	for t := time.Duration(0); t < f.s.sc.Length; t += time.Second {
		f.s.clk.at(t, func() { f.second(t) })
	}
}

func (f *webFarm) ready(*instance)   {}
func (f *webFarm) removed(*instance) {} // deregistered at once: it no longer counts as in service

// second serves the requests arriving in [t, t+1s).
func (f *webFarm) second(t time.Duration) {
	rate := 0.0
	for _, src := range f.s.sc.Sources {
		rate += src.Shape.Rate(t)
	}
	k := poisson(f.s, rate)
	if k == 0 {
		return
	}
	f.requests += k
	f.s.metrics[scaling.RequestCount].Add(f.s.clk.wall(), float64(k))
	var serving []*instance
	for _, in := range f.s.instances {
		if in.ready && !in.draining && !in.gone {
			serving = append(serving, in)
		}
	}
	if len(serving) == 0 {
		f.errors += k
		return
	}
	per := float64(k) / float64(len(serving))
	for i := range k {
		f.serve(serving[i%len(serving)], per)
	}
	for _, in := range serving {
		in.backlog = max(0, in.backlog+per-f.s.sc.Web.Capacity)
	}
}

// serve draws one request's latency on an instance receiving per
// requests this second.
func (f *webFarm) serve(in *instance, per float64) {
	m := f.s.sc.Web
	rho := min(per/m.Capacity, 0.95)
	mean := float64(m.Base)/(1-rho) + in.backlog/m.Capacity*float64(time.Second)
	l := time.Duration(f.s.rng.ExpFloat64() * mean)
	f.latencies = append(f.latencies, l)
	f.minute = append(f.minute, l)
	f.s.metrics[scaling.TargetResponseTime].Add(f.s.clk.wall(), l.Seconds())
}

// poisson draws a Poisson count with mean lambda (normal approximation
// above 30, where the exact method gets slow).
func poisson(s *sim, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+s.rng.NormFloat64()*math.Sqrt(lambda))))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= s.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (f *webFarm) sample(time.Time) {
	f.s.point(float64(len(f.minute))/60, float64(percentile(f.minute, 99))/float64(time.Millisecond))
	f.minute = f.minute[:0]
}

func (f *webFarm) result(r *Result) {
	r.Requests, r.Errors = f.requests, f.errors
	r.P99LatencyMs = float64(percentile(f.latencies, 99)) / float64(time.Millisecond)
}
