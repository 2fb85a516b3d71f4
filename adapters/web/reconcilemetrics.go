package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gasproject/gas/domain/workers"
)

// reconcileMetrics are the reconciler's, named for the alarms a deployment
// sets on them (docs/web.md, Metrics):
//
//   - gas_reconcile_findings{finding}: what the last pass found missing (a
//     gauge per finding, zeros included). Above zero for several passes in
//     a row means hints keep getting lost: alarm.
//   - gas_reconcile_repairs_total{finding}: everything re-issued so far.
//   - gas_reconcile_deferred: PENDING jobs idle but left to a backlog.
//   - gas_reconcile_errors_total: repairs that failed (retried next pass).
//   - gas_reconcile_runs_total{outcome}: passes, "ok" or "error" (the scan
//     failed); gas_reconcile_last_success_timestamp_seconds: when the last
//     pass finished; stale means no reconciler is running: alarm.
//   - gas_reconcile_jobs_scanned: jobs read by the last pass.
type reconcileMetrics struct {
	findings    *prometheus.GaugeVec
	repairs     *prometheus.CounterVec
	deferred    prometheus.Gauge
	errors      prometheus.Counter
	runs        *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	scanned     prometheus.Gauge
}

func newReconcileMetrics(reg *prometheus.Registry) reconcileMetrics {
	r := reconcileMetrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gas_reconcile_findings",
			Help: "Jobs the last reconciliation found missing a message, by finding."}, []string{"finding"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gas_reconcile_repairs_total",
			Help: "Messages the reconciler re-issued, by finding."}, []string{"finding"}),
		deferred: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gas_reconcile_deferred",
			Help: "PENDING jobs the last reconciliation left to the annotate queue's backlog."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "gas_reconcile_errors_total",
			Help: "Reconciler repairs that failed (tried again by the next pass)."}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gas_reconcile_runs_total",
			Help: "Reconciliations by outcome (ok, error: the scan failed)."}, []string{"outcome"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gas_reconcile_last_success_timestamp_seconds",
			Help: "Unix time the last successful reconciliation finished."}),
		scanned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gas_reconcile_jobs_scanned",
			Help: "Jobs the last reconciliation read."}),
	}
	reg.MustRegister(r.findings, r.repairs, r.deferred, r.errors, r.runs, r.lastSuccess, r.scanned)
	return r
}

// ObserveReconcile records one reconciliation (the reconciler's observer).
// A dry run (gas reconcile --dry-run) is not recorded: it repaired nothing.
func (m *Metrics) ObserveReconcile(rep workers.Report, err error) {
	r := m.recon
	if err != nil {
		r.runs.WithLabelValues("error").Inc()
		return
	}
	r.runs.WithLabelValues("ok").Inc()
	if rep.DryRun {
		return
	}
	for _, f := range workers.Findings {
		r.findings.WithLabelValues(string(f)).Set(float64(rep.Found[f]))
		r.repairs.WithLabelValues(string(f)).Add(float64(rep.Found[f]))
	}
	r.deferred.Set(float64(rep.Deferred))
	r.errors.Add(float64(rep.Errors))
	r.scanned.Set(float64(rep.Scanned))
	r.lastSuccess.Set(float64(rep.Started.Add(rep.Took).Unix()))
}
