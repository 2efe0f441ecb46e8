package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// call is one request of a workload; seq numbers calls across workers so
// that workloads can vary their keys.
type call func(ctx context.Context, seq int64) error

// phase is one timed run of one workload.
type phase struct {
	workload string
	round    int // 0 for warm-up
	calls    int64
	errs     int64
	elapsed  time.Duration
	lat      []time.Duration // every successful call's latency
	firstErr error
	server   serverStats // Redis's counters over the phase, when known
}

// runPhase runs fn from concurrency workers until d has elapsed, limit calls
// were started (0: no limit) or ctx ends, logging progress every second.
func runPhase(ctx context.Context, log *slog.Logger, workload string, round, concurrency int, d time.Duration, limit int64, fn call) phase {
	var (
		stop    atomic.Bool
		started atomic.Int64
		done    atomic.Int64
		errs    atomic.Int64
		errOnce sync.Once
		wg      sync.WaitGroup
	)
	p := phase{workload: workload, round: round}
	lats := make([][]time.Duration, concurrency)
	expect := int(d.Seconds()*100_000)/concurrency + 1024 // room for ~100k calls/s
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, min(expect, 1<<20))
			for !stop.Load() {
				seq := started.Add(1)
				if limit > 0 && seq > limit {
					break
				}
				t0 := time.Now()
				err := fn(ctx, seq)
				dt := time.Since(t0)
				done.Add(1)
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { p.firstErr = err })
					continue
				}
				lat = append(lat, dt)
			}
			lats[w] = lat
		}()
	}

	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	for running := true; running; {
		select {
		case <-finished:
			running = false
		case <-timer.C:
			stop.Store(true)
		case <-ctx.Done():
			stop.Store(true)
		case <-tick.C:
			n := done.Load()
			log.Info("progress", "workload", workload, "round", round, "calls", n, "per_sec", n-last, "errors", errs.Load())
			last = n
		}
	}
	p.elapsed = time.Since(start)
	p.calls, p.errs = done.Load(), errs.Load()
	for _, l := range lats {
		p.lat = append(p.lat, l...)
	}
	return p
}
