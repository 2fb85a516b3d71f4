package role

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// ObservedJobs wraps the job store to make lost conditional writes
// visible: each is counted (gas_job_write_conflicts_total) and logged with
// the job id. A conflict is the store doing its job — two workers raced
// and one backed off — but a rising rate means instances are fighting
// over the same work.
type ObservedJobs struct {
	ports.JobStore
	rt        *Runtime
	conflicts prometheus.Counter
}

// ObserveJobs wraps s.
func (rt *Runtime) ObserveJobs(s ports.JobStore) *ObservedJobs {
	var c prometheus.Counter = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gas_job_write_conflicts_total",
		Help: "Conditional job writes lost to a concurrent writer (the loser backs off).",
	})
	if err := rt.Metrics.Registry().Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(prometheus.Counter); ok {
				c = existing
			}
		}
	}
	return &ObservedJobs{JobStore: s, rt: rt, conflicts: c}
}

// Update writes j, recording a lost race.
func (o *ObservedJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	out, err := o.JobStore.Update(ctx, j)
	if errors.Is(err, ports.ErrConflict) {
		o.conflicts.Inc()
		o.rt.Log.InfoContext(ctx, "conditional write lost to a concurrent update; backing off",
			"job", string(j.ID()), "version", j.Version(), "status", string(j.Status()))
	}
	return out, err
}
