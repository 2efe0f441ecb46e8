package service

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus series. They exist unregistered
// when the service is built without a registerer (tests, benchmarks).
type metrics struct {
	checks *prometheus.CounterVec // by tier and result
	// byTier holds checks' counters resolved per tier, [0] denied and
	// [1] allowed, so that counting a check does not hash labels.
	byTier        map[string]*[2]prometheus.Counter
	l1Hits        [2]prometheus.Counter // byTier[TierL1], without the map lookup
	compiles      prometheus.Counter
	compileErrors prometheus.Counter
	invalidations *prometheus.CounterVec // by source: pubsub, poll, local
	l2Errors      prometheus.Counter
	l2Dropped     prometheus.Counter
	publishErrors prometheus.Counter
	repairs       prometheus.Counter
	pollErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greyrouter_privilege_checks_total",
			Help: "Privilege checks by the tier that answered (l1, engine, l2, l3, stale, fail-closed, fail-open) and result (allowed, denied).",
		}, []string{"tier", "result"}),
		compiles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_compiles_total",
			Help: "Policy sets loaded from the database and compiled.",
		}),
		compileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_compile_errors_total",
			Help: "Policy set loads or compilations that failed (database unreachable or a stored set that no longer compiles).",
		}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greyrouter_privilege_invalidations_total",
			Help: "Newer policy versions learned, by source (pubsub, poll, local write, token).",
		}, []string{"source"}),
		l2Errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_l2_errors_total",
			Help: "Redis decision cache reads or write batches that failed.",
		}),
		l2Dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_l2_dropped_total",
			Help: "Decisions not written to the Redis cache because its write queue was full.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_publish_errors_total",
			Help: "Policy changes committed but not announced on Redis (replicas learn them by polling).",
		}),
		repairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_announcements_repaired_total",
			Help: "Versions announced again by a poll because the Redis versions hash lagged the database (an announcement lost, Redis restarted empty).",
		}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "greyrouter_privilege_poll_errors_total",
			Help: "Polls of the policy versions that reached neither the database nor Redis.",
		}),
	}
	m.byTier = map[string]*[2]prometheus.Counter{}
	for _, tier := range []string{TierL1, TierEngine, TierL2, TierL3, TierStale, TierFailClosed, TierFailOpen} {
		m.byTier[tier] = &[2]prometheus.Counter{m.checks.WithLabelValues(tier, "denied"), m.checks.WithLabelValues(tier, "allowed")}
	}
	m.l1Hits = *m.byTier[TierL1]
	if reg == nil {
		return m
	}
	reg.MustRegister(m.checks, m.compiles, m.compileErrors, m.invalidations, m.l2Errors, m.l2Dropped, m.publishErrors, m.repairs, m.pollErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "greyrouter_privilege_version_staleness_seconds",
			Help: "Seconds since the policy versions were last confirmed (by a poll of the database or Redis).",
		}, func() float64 { return s.Staleness().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "greyrouter_privilege_l1_entries",
			Help: "Decisions in the in-process cache (estimate).",
		}, func() float64 { return float64(s.l1.Len()) }),
	)
	return m
}

// count counts one answered check.
func (m *metrics) count(tier string, allowed bool) { m.byTier[tier][b2i(allowed)].Inc() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
