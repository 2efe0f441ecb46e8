package httpapi

import "github.com/prometheus/client_golang/prometheus"

// projection is what the metrics read from the manager.
type projection interface {
	Pending() int
	Rebuilds() int64
}

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, m projection) *metrics {
	out := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greyrouter_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "greyrouter_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"method", "route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greyrouter_decisions_total", Help: "Routing decisions by service, reason and result.",
		}, []string{"service", "reason", "result"}),
	}
	reg.MustRegister(out.requests, out.latency, out.decisions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "greyrouter_projection_pending_services",
			Help: "Services whose routing table could not be written to Redis and await a retry.",
		}, func() float64 { return float64(m.Pending()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "greyrouter_projection_rebuilds_total",
			Help: "Full rebuilds of the routing tables after Redis lost its data.",
		}, func() float64 { return float64(m.Rebuilds()) }),
	)
	return out
}
