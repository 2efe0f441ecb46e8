package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// summary condenses phases of one workload.
type summary struct {
	workload string
	round    string
	calls    int64
	errs     int64
	elapsed  time.Duration
	p50, p90 time.Duration
	p99      time.Duration
	p999     time.Duration
	max      time.Duration
	server   serverStats
}

// rps is completed calls per second of wall time.
func (s summary) rps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.calls) / s.elapsed.Seconds()
}

// summarize merges phases (their latencies are pooled, their times added)
// and sorts the pooled latencies to read exact percentiles.
func summarize(workload, round string, phases ...phase) summary {
	s := summary{workload: workload, round: round}
	var lat []time.Duration
	for _, p := range phases {
		s.calls += p.calls
		s.errs += p.errs
		s.elapsed += p.elapsed
		s.server = s.server.add(p.server)
		lat = append(lat, p.lat...)
	}
	slices.Sort(lat)
	s.p50, s.p90 = percentile(lat, 0.50), percentile(lat, 0.90)
	s.p99, s.p999 = percentile(lat, 0.99), percentile(lat, 0.999)
	if len(lat) > 0 {
		s.max = lat[len(lat)-1]
	}
	return s
}

// percentile returns the smallest sample with at least q of the samples at
// or below it (nearest rank); sorted must be ascending.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func us(d time.Duration) string { return fmt.Sprintf("%dus", d.Microseconds()) }

// printTable writes one row per summary; with server set it adds Redis's
// time per EVALSHA, its CPU use and grload's, in percent of one core.
func printTable(w io.Writer, rows []summary, server bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "workload\tround\tcalls\terrors\treq/s\tp50\tp90\tp99\tp99.9\tmax\t"
	if server {
		head += "redis us/evalsha\tredis cpu\tgrload cpu\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t",
			r.workload, r.round, r.calls, r.errs, r.rps(), us(r.p50), us(r.p90), us(r.p99), us(r.p999), us(r.max))
		if server {
			per := 0.0
			if r.server.evalCalls > 0 {
				per = float64(r.server.evalUsec) / float64(r.server.evalCalls)
			}
			fmt.Fprintf(tw, "%.1f\t%.0f%%\t%.0f%%\t", per, 100*r.server.cpuSec/r.elapsed.Seconds(), 100*r.server.selfCPU.Seconds()/r.elapsed.Seconds())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// median of a non-empty slice.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
