package router

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// localMetrics are the local mode's metrics; with no registerer they are
// kept but not exported.
type localMetrics struct {
	reg       prometheus.Registerer
	staleness prometheus.GaugeFunc
	revision  prometheus.GaugeFunc
	syncs     *prometheus.CounterVec
}

func newLocalMetrics(reg prometheus.Registerer, l *local) (*localMetrics, error) {
	m := &localMetrics{
		reg: reg,
		staleness: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "greyrouter_sdk_routing_snapshot_staleness_seconds",
			Help: "How long the router has not confirmed the routing snapshot that local decisions use (0 while a long poll is current).",
		}, func() float64 { return l.staleness(time.Now()).Seconds() }),
		revision: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "greyrouter_sdk_routing_snapshot_revision",
			Help: "Configuration revision of the routing snapshot that local decisions use.",
		}, func() float64 {
			if t := l.table.Load(); t != nil {
				return float64(t.revision)
			}
			return 0
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greyrouter_sdk_routing_snapshot_syncs_total",
			Help: "Routing snapshot fetches by result: changed, unchanged or error.",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.staleness, m.revision, m.syncs} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, errors.Join(errors.New("sdk/router: register metrics"), err)
		}
		done = append(done, c)
	}
	return m, nil
}

func (m *localMetrics) unregister() {
	if m.reg == nil {
		return
	}
	m.reg.Unregister(m.staleness)
	m.reg.Unregister(m.revision)
	m.reg.Unregister(m.syncs)
}
