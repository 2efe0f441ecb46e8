package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

// minimalScript is the peer: the cheapest script call go-redis can make
// with one key and one argument, so the difference to a decision is what
// decide.lua and redisstore add on top of an EVALSHA round trip.
var minimalScript = redis.NewScript("return ARGV[1]")

type redisFlags struct {
	bounds
	addr      string
	rounds    int
	warmup    time.Duration
	strategy  string
	service   string
	tenants   int
	instances int
	headers   bool
	explain   bool
	poolSize  int
	batched   int
}

const redisSummary = `Projects a realistic service into Redis with redisstore, then runs two
workloads in alternating rounds (ABBA order, so drift and noise hit both):
  raw     EVALSHA of "return ARGV[1]" with one key, through the same client
  decide  redisstore.Store.Decide: one EVALSHA of decide.lua plus encoding
          and decoding in Go
--duration is split evenly over rounds x workloads; --requests likewise.
The service's keys (gr:{<service>}:*) are replaced: use a spare Redis.`

func redisCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f redisFlags
	fs := flag.NewFlagSet("grload redis", flag.ContinueOnError)
	f.bind(fs, 16, 10*time.Second)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:6379", "Redis host:port (loopback only)")
	fs.IntVar(&f.rounds, "rounds", 4, "alternating rounds of each workload")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured warm-up, split between the workloads")
	fs.StringVar(&f.strategy, "strategy", string(router.WeightedRoundRobin), "load-balancing strategy of the projected service")
	fs.StringVar(&f.service, "service", "orders", "name of the projected service")
	fs.IntVar(&f.tenants, "tenants", 50, "tenants; every second one has a split binding with a header rule")
	fs.IntVar(&f.instances, "instances", 4, "instances per version (versions v1 and v2)")
	fs.BoolVar(&f.headers, "headers", true, "send a request header with each decision, so the rule is evaluated against it")
	fs.BoolVar(&f.explain, "explain", false, "ask decide.lua for explanations")
	fs.IntVar(&f.poolSize, "pool-size", 0, "go-redis PoolSize (0: 2 x concurrency)")
	fs.IntVar(&f.batched, "batched", 0, "pipeline concurrent decisions through this many workers (redisstore.NewBatched, as greyrouter serve does); 0: one round trip per decision")
	if err := parse(fs, redisSummary, args, stdout, stderr); err != nil {
		return err
	}
	if err := f.valid(); err != nil {
		return err
	}
	if err := loopbackAddr(f.addr); err != nil {
		return err
	}
	if !slices.Contains(router.Strategies, router.Strategy(f.strategy)) {
		return fmt.Errorf("%w: --strategy must be one of %v", errUsage, router.Strategies)
	}
	if f.rounds < 1 || f.tenants < 1 || f.instances < 1 {
		return fmt.Errorf("%w: --rounds, --tenants and --instances must be positive", errUsage)
	}
	if f.poolSize == 0 {
		f.poolSize = 2 * f.concurrency
	}
	if f.poolSize < f.concurrency {
		return fmt.Errorf("%w: --pool-size %d is below --concurrency %d: callers would queue for connections", errUsage, f.poolSize, f.concurrency)
	}
	log := newLogger(stderr)

	rdb := redis.NewClient(&redis.Options{Addr: f.addr, PoolSize: f.poolSize, MinIdleConns: f.concurrency})
	defer rdb.Close()
	st := redisstore.New(rdb)
	if f.batched > 0 {
		st = redisstore.NewBatched(rdb, f.batched)
		defer st.Close()
	}
	snap := benchSnapshot(f)
	if err := st.Drop(ctx, f.service); err != nil {
		return err
	}
	if err := st.Project(ctx, snap); err != nil {
		return err
	}
	log.Info("projected", "service", f.service, "strategy", f.strategy, "tenants", f.tenants,
		"bindings", len(snap.Bindings), "instances", len(snap.Instances), "addr", f.addr, "pool_size", f.poolSize)

	rawKeys := []string{"grload:{" + f.service + "}:raw"}
	workloads := map[string]call{
		"raw": func(ctx context.Context, seq int64) error {
			return minimalScript.Run(ctx, rdb, rawKeys, "x").Err()
		},
		"decide": decideCall(st, f, snap.Tenants),
	}
	// A first decision proves the projection before any timing starts.
	if err := workloads["decide"](ctx, 0); err != nil {
		return fmt.Errorf("first decision: %w", err)
	}

	phases := f.bounds.duration / time.Duration(2*f.rounds)
	perPhase := int64(0)
	if f.requests > 0 {
		perPhase = max(1, f.requests/int64(2*f.rounds))
	}
	for _, w := range []string{"raw", "decide"} {
		p := runPhase(ctx, log, w, 0, f.concurrency, f.warmup/2, 0, workloads[w])
		if p.errs > 0 {
			return fmt.Errorf("warm-up of %s: %d of %d calls failed, first: %w", w, p.errs, p.calls, p.firstErr)
		}
	}
	byWorkload := map[string][]phase{}
	var rows []summary
	for r := 1; r <= f.rounds; r++ {
		order := []string{"raw", "decide"}
		if r%2 == 0 {
			order = []string{"decide", "raw"}
		}
		for _, w := range order {
			before, err := readServerStats(ctx, rdb)
			if err != nil {
				return err
			}
			p := runPhase(ctx, log, w, r, f.concurrency, phases, perPhase, workloads[w])
			if err := ctx.Err(); err != nil {
				return err
			}
			after, err := readServerStats(ctx, rdb)
			if err != nil {
				return err
			}
			p.server = after.sub(before)
			if p.errs > 0 {
				log.Warn("calls failed", "workload", w, "round", r, "errors", p.errs, "first", p.firstErr)
			}
			byWorkload[w] = append(byWorkload[w], p)
		}
		for _, w := range []string{"raw", "decide"} {
			rows = append(rows, summarize(w, strconv.Itoa(r), byWorkload[w][r-1]))
		}
	}
	raw := summarize("raw", "all", byWorkload["raw"]...)
	dec := summarize("decide", "all", byWorkload["decide"]...)
	rows = append(rows, raw, dec)

	fmt.Fprintf(stdout, "\ngrload redis: addr=%s concurrency=%d pool=%d rounds=%d duration=%s strategy=%s tenants=%d instances/version=%d headers=%t\n\n",
		f.addr, f.concurrency, f.poolSize, f.rounds, f.bounds.duration, f.strategy, f.tenants, f.instances, f.headers)
	printTable(stdout, rows, true)
	var ratios []float64
	for r := range f.rounds {
		rr, dr := summarize("", "", byWorkload["raw"][r]), summarize("", "", byWorkload["decide"][r])
		if rr.rps() > 0 {
			ratios = append(ratios, dr.rps()/rr.rps())
		}
	}
	ratio := dec.rps() / raw.rps()
	fmt.Fprintf(stdout, "\nthroughput decide/raw: %.2f overall; per round median %.2f, min %.2f, max %.2f\n",
		ratio, median(ratios), slices.Min(ratios), slices.Max(ratios))
	fmt.Fprintf(stdout, "target decide >= 0.80 x raw: %s; target decide p99 <= 1ms: %s (p99 %s)\n",
		metIf(ratio >= 0.80), metIf(dec.p99 <= time.Millisecond), us(dec.p99))
	if raw.errs+dec.errs > 0 {
		return fmt.Errorf("%d raw and %d decide calls failed", raw.errs, dec.errs)
	}
	return nil
}

func metIf(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// decideCall cycles through the tenants with a fresh sticky key per call.
func decideCall(st *redisstore.Store, f redisFlags, tenants []string) call {
	var headers []map[string]string
	if f.headers {
		// Values that never match the rule, so every rule is evaluated.
		for _, v := range []string{"never", "no", "off", "later"} {
			headers = append(headers, map[string]string{"x-canary": v})
		}
	}
	return func(ctx context.Context, seq int64) error {
		req := router.Request{Tenant: tenants[int(seq)%len(tenants)], Service: f.service, Key: "user-" + strconv.FormatInt(seq, 10)}
		if headers != nil {
			req.Headers = headers[int(seq)%len(headers)]
		}
		d, err := st.Decide(ctx, req, router.DecideOptions{Explain: f.explain})
		if err == nil && d.Instance.ID == "" {
			err = errors.New("decision without an instance")
		}
		return err
	}
}
