package web

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/results"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Metrics is the Prometheus registry of one process: request latency,
// jobs by status, queue depths and annotation throughput. Apps feed it the
// queues and job counts they have; the handler serves it at /metrics.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec
	annotated *prometheus.CounterVec
	variants  prometheus.Counter
	inBytes   prometheus.Counter
	annTime   prometheus.Histogram
	recon     reconcileMetrics

	mu     sync.Mutex
	queues map[string]ports.Queue
	counts func(ctx context.Context) (map[domain.Status]int, error)
}

// NewMetrics makes a registry with the Go and process collectors and the
// GAS metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), queues: map[string]ports.Queue{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gas_http_request_duration_seconds", Help: "HTTP request latency by route template, method and status.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	m.annotated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gas_annotations_total", Help: "Annotation runs by outcome (ok, error).",
	}, []string{"outcome"})
	m.variants = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gas_annotated_variants_total", Help: "Alleles annotated; its rate is annotation throughput.",
	})
	m.inBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gas_annotated_input_bytes_total", Help: "Input bytes read by annotation runs.",
	})
	m.annTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "gas_annotation_duration_seconds", Help: "Wall time of one annotation run.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
	})
	m.reg.MustRegister(m.requests, m.annotated, m.variants, m.inBytes, m.annTime, &pipelineCollector{m})
	m.recon = newReconcileMetrics(m.reg)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry exposes the registry so apps can add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) observeRequest(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, statusLabel(code)).Observe(d.Seconds())
}

// WatchQueue reports a queue's depths (visible, in flight, delayed) under name.
func (m *Metrics) WatchQueue(name string, q ports.Queue) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queues[name] = q
}

// CountJobs sets the function that counts jobs by status at scrape time.
func (m *Metrics) CountJobs(f func(ctx context.Context) (map[domain.Status]int, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts = f
}

var (
	queueDesc = prometheus.NewDesc("gas_queue_messages", "Messages in a queue by state.", []string{"queue", "state"}, nil)
	jobsDesc  = prometheus.NewDesc("gas_jobs", "Jobs by status.", []string{"status"}, nil)
)

// pipelineCollector reads queue depths and job counts at scrape time.
type pipelineCollector struct{ m *Metrics }

func (c *pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- jobsDesc
}

func (c *pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	queues := make(map[string]ports.Queue, len(c.m.queues))
	for k, v := range c.m.queues {
		queues[k] = v
	}
	counts := c.m.counts
	c.m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for name, q := range queues {
		st, err := q.Stats(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.Visible), name, "visible")
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.InFlight), name, "in_flight")
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.Delayed), name, "delayed")
	}
	if counts != nil {
		if byStatus, err := counts(ctx); err == nil {
			for _, s := range []domain.Status{domain.StatusPending, domain.StatusRunning, domain.StatusCompleted, domain.StatusFailed, domain.StatusCancelled} {
				ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(byStatus[s]), string(s))
			}
		}
	}
}

// InstrumentAnnotator wraps an annotator so every run is counted: runs by
// outcome, variants annotated, input bytes and run time.
func (m *Metrics) InstrumentAnnotator(a results.Engine) results.Engine {
	return &instrumented{Engine: a, m: m}
}

type instrumented struct {
	results.Engine
	m *Metrics
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (i *instrumented) AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error) {
	start := time.Now()
	cr := &countingReader{r: in}
	sum, err := i.Engine.AnnotateJob(ctx, cr, out, job)
	i.m.annTime.Observe(time.Since(start).Seconds())
	i.m.inBytes.Add(float64(cr.n))
	if err != nil {
		i.m.annotated.WithLabelValues("error").Inc()
		return sum, err
	}
	i.m.annotated.WithLabelValues("ok").Inc()
	i.m.variants.Add(float64(sum.Variants))
	return sum, nil
}
