package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/pool"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/scaling"
)

// poolFlags are gas serve's elastic annotator pool: --workers is its
// maximum, --workers-min its minimum (equal: a fixed pool), and between
// them it is sized by the annotator farm's target tracking.
type poolFlags struct {
	WorkersMin     int
	ScaleTick      time.Duration
	AcceptableWait time.Duration
}

func (p *poolFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&p.WorkersMin, "workers-min", 2, "fewest jobs annotated at once: the pool grows to --workers and shrinks back by target tracking (docs/scaling.md); at least 2 keeps one for another user while one user is busy (fair share, docs/web.md)")
	fs.DurationVar(&p.ScaleTick, "scale-tick", scaling.Resolution, "one CloudWatch minute of the pool's scaling clock (shorter for demos and tests)")
	fs.DurationVar(&p.AcceptableWait, "acceptable-wait", scaling.DefaultAcceptableWait, "how long a job may wait before the pool grows (backlog target = this ÷ mean job time)")
}

func (p poolFlags) validate(workers int) error {
	if p.WorkersMin < 1 || p.ScaleTick <= 0 || p.AcceptableWait <= 0 {
		return fmt.Errorf("%w: --workers-min must be at least 1 (at most --workers, %d, is used), --scale-tick and --acceptable-wait positive", errUsage, workers)
	}
	return nil
}

// localPool is the pool's configuration for the runtime.
func localPool(cfg serveConfig) pool.Config {
	return pool.Config{Min: min(cfg.Pool.WorkersMin, cfg.Workers), Max: cfg.Workers, Tick: cfg.Pool.ScaleTick, AcceptableWait: cfg.Pool.AcceptableWait}
}

// scalingStatus shows the runtime's pool on the /scaling page.
func scalingStatus(rt *role.Runtime) func() web.ScalingStatus {
	return func() web.ScalingStatus {
		if rt.Pool == nil {
			return web.ScalingStatus{}
		}
		s := rt.Pool.Status()
		out := web.ScalingStatus{Min: s.Min, Max: s.Max, Desired: s.Desired, Running: s.Running, Busy: s.Busy,
			Waiting: s.Waiting, InFlight: s.InFlight, BacklogTarget: s.BacklogTarget, UtilisationTarget: s.UtilisationTarget,
			AcceptableWait: s.AcceptableWait, MeanJob: s.MeanJob, Tick: s.Tick}
		for _, e := range s.Events {
			out.Events = append(out.Events, web.ScalingEvent{At: e.At, From: e.From, To: e.To, Rule: e.Rule})
		}
		return out
	}
}
