package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/batchlog"
	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

// ReporterConfig configures NewReporter. Zero fields take their defaults.
type ReporterConfig struct {
	// Redis, when set, sends outcomes straight to the Redis the router
	// projects into (the router's own report script) whatever the
	// client's mode: for local clients of services that share that Redis.
	// By default outcomes go where the client decides: the report API
	// (POST /api/v1/report) for local and HTTP clients, with the client's
	// TokenSource, and Redis for Redis clients.
	Redis redis.UniversalClient
	// Capacity is how many outcomes wait at most; beyond it Report drops
	// and counts. Default 10,000.
	Capacity int
	// Batch is the most outcomes one flush sends (default 256), Interval
	// how long an outcome waits at most for a flush (default 200 ms).
	Batch    int
	Interval time.Duration
	// Parallel is how many instances' outcomes are sent at once (default
	// 4). One instance's outcomes are sent one after the other, in the
	// order they were reported, since its circuit counts them in order.
	Parallel int
	// Attempts is how many times a batch that reached nobody (the router
	// or Redis unreachable) is tried before it is dropped (default 3, one
	// per Interval).
	Attempts int
	// Logger receives rate-limited warnings; default none.
	Logger *slog.Logger
	// Registerer, when set, receives greyrouter_sdk_outcome_reports_total
	// by result: sent, rejected, failed, dropped.
	Registerer prometheus.Registerer
}

// Reporter sends the outcomes of calls (ok or error, latency, and the
// least-connections lease to release) to the router, in batches and in
// the background, so that a failing instance is ejected by its circuit
// breaker and a lease stops counting as a connection. Report never
// blocks: when the queue is full the outcome is dropped and counted.
// Close flushes what is queued. Its methods are safe for concurrent use.
//
// Reports are best effort, and sent at most once: an outcome the router
// refuses (an unknown instance) is counted as rejected, and when some of
// a batch got through but others did not, the others are counted as
// failed rather than sent again, since reporting an error twice would
// count against the instance twice. A batch that reached nobody is tried
// again, Attempts times. An unreported lease expires after the service's
// lease time.
type Reporter struct {
	w        *batchlog.Writer[routing.Outcome]
	send     func(ctx context.Context, o routing.Outcome) error
	closeFn  func()
	closed   sync.Once
	parallel int
	log      *slog.Logger
	reg      prometheus.Registerer
	metrics  []prometheus.Collector

	sent, rejected, failed atomic.Uint64
	lastWarn               atomic.Int64
}

// ReporterStats counts outcomes since the Reporter started.
type ReporterStats struct {
	// Sent reached the router. Rejected were refused by it (an unknown
	// service or instance, an invalid report) or could not be valid.
	// Failed did not reach it while others of their batch did. Dropped
	// never left: the queue was full, the Reporter closed, or the router
	// stayed unreachable for every attempt.
	Sent, Rejected, Failed, Dropped uint64
}

// NewReporter returns a running Reporter that sends outcomes where c
// decides (see ReporterConfig.Redis). Close it after the last Report.
func NewReporter(c *Client, cfg ReporterConfig) (*Reporter, error) {
	r := &Reporter{parallel: cfg.Parallel, log: cfg.Logger, closeFn: func() {}}
	if r.parallel <= 0 {
		r.parallel = 4
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Redis != nil:
		st := redisstore.NewBatched(cfg.Redis, r.parallel)
		r.send, r.closeFn = redisSender(st), st.Close
	case c == nil:
		return nil, errors.New("sdk/router: NewReporter needs a client or ReporterConfig.Redis")
	case c.local != nil:
		r.send = httpSender(strings.TrimRight(c.local.cfg.RouterURL, "/")+"/api/v1/report", c.local.cfg.Tokens, c.local.cfg.HTTPClient)
	default:
		switch rs := c.remote.(type) {
		case *httpResolver:
			r.send = httpSender(strings.TrimSuffix(rs.url, "/resolve")+"/report", rs.tokens, rs.hc)
		case *redisResolver:
			r.send = redisSender(rs.st)
		default:
			return nil, fmt.Errorf("sdk/router: NewReporter: no report target for a %T client", c.remote)
		}
	}
	r.w = batchlog.New(r.write, r.log, batchlog.Options[routing.Outcome]{
		Name: "routing outcome reports", Capacity: cfg.Capacity, Batch: cfg.Batch, Interval: cfg.Interval, Attempts: cfg.Attempts,
		Describe: func(o routing.Outcome) []any { return []any{"service", o.Service} },
	})
	if err := r.register(cfg.Registerer); err != nil {
		_ = r.w.Close(context.Background())
		r.closeFn()
		return nil, err
	}
	return r, nil
}

// Report queues the outcome of a call to in: ok is false for a failed
// call (a transport error, a 5xx answer), latency how long it took. It
// returns at once. An Instance without Service or ID (the zero Instance)
// is counted as rejected.
func (r *Reporter) Report(in Instance, ok bool, latency time.Duration) {
	if in.Service == "" || in.ID == "" {
		r.rejected.Add(1)
		return
	}
	ms := min(max(float64(latency)/float64(time.Millisecond), 0), 3.6e6)
	r.w.Record(routing.Outcome{Service: in.Service, Instance: in.ID, OK: ok, LatencyMS: ms, Lease: in.Lease})
}

// Flush sends every outcome reported before it was called, and returns an
// error when a batch reached nobody (it stays queued for a retry).
func (r *Reporter) Flush(ctx context.Context) error { return r.w.Flush(ctx) }

// Close stops accepting outcomes, sends those queued (until ctx ends) and
// stops the background work. Later Reports are dropped and counted.
func (r *Reporter) Close(ctx context.Context) error {
	err := r.w.Close(ctx)
	r.closed.Do(func() {
		// A Redis store closed under a flusher still at work (ctx
		// ended first) answers its last reports without pipelining.
		r.closeFn()
		if r.reg != nil {
			for _, m := range r.metrics {
				r.reg.Unregister(m)
			}
		}
	})
	return err
}

// Stats returns the counts so far.
func (r *Reporter) Stats() ReporterStats {
	return ReporterStats{Sent: r.sent.Load(), Rejected: r.rejected.Load(), Failed: r.failed.Load(), Dropped: r.w.Dropped()}
}

// errUnreached marks a batch none of whose outcomes reached the router.
var errUnreached = errors.New("no outcome reached the router")

// write sends a batch: each instance's outcomes in order, up to parallel
// instances at a time. It fails, so that the batch is tried again as it
// is, only when nothing of it reached the router.
func (r *Reporter) write(ctx context.Context, batch []routing.Outcome) error {
	groups := groupByInstance(batch)
	var (
		next                      atomic.Int64
		sent, rejected, unreached atomic.Uint64
		firstErr                  atomic.Pointer[error]
		wg                        sync.WaitGroup
	)
	for range min(r.parallel, len(groups)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(groups); i = int(next.Add(1) - 1) {
				for k, o := range groups[i] {
					err := r.send(ctx, o)
					switch {
					case err == nil:
						sent.Add(1)
						continue
					case !errors.Is(err, ErrUnavailable):
						rejected.Add(1)
						r.warn("outcome report refused", "service", o.Service, "err", err)
						continue
					}
					// The router is out of reach: the instance's later
					// outcomes wait, lest they overtake this one.
					firstErr.CompareAndSwap(nil, &err)
					unreached.Add(uint64(len(groups[i]) - k))
					break
				}
			}
		})
	}
	wg.Wait()
	if sent.Load() == 0 && unreached.Load() > 0 {
		return fmt.Errorf("%w: %w", errUnreached, *firstErr.Load())
	}
	r.sent.Add(sent.Load())
	r.rejected.Add(rejected.Load())
	if n := unreached.Load(); n > 0 {
		r.failed.Add(n)
		r.warn("outcome reports lost: part of a batch did not reach the router", "count", n, "err", *firstErr.Load())
	}
	return nil
}

// groupByInstance splits a batch by service and instance, keeping each
// instance's outcomes in order.
func groupByInstance(batch []routing.Outcome) [][]routing.Outcome {
	type key struct{ service, instance string }
	at := make(map[key]int)
	var groups [][]routing.Outcome
	for _, o := range batch {
		k := key{o.Service, o.Instance}
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], o)
	}
	return groups
}

// warn logs at most once per 10 s.
func (r *Reporter) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last < int64(10*time.Second) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn(msg, args...)
}

// httpSender posts outcomes to the router's report API. Errors wrap
// ErrUnavailable when the router could not take the report now, another
// sentinel when it refused it.
func httpSender(url string, tokens TokenSource, hc *http.Client) func(context.Context, routing.Outcome) error {
	return func(ctx context.Context, o routing.Outcome) error {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("%w: %s", ErrInvalid, apperr.MessageOf(err))
		}
		body, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("%w: encode outcome: %w", ErrInvalid, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%w: report request: %w", ErrInvalid, err)
		}
		tok, err := tokens(ctx)
		if err != nil {
			return fmt.Errorf("%w: token for the router: %w", ErrUnavailable, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%w: report outcome: %w", ErrUnavailable, err)
		}
		defer func() {
			// Drain so that the connection is reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}()
		if resp.StatusCode != http.StatusOK {
			return httpError(resp, "report "+o.Service+"/"+o.Instance)
		}
		return nil
	}
}

// redisSender runs the router's report script on its Redis.
func redisSender(st *redisstore.Store) func(context.Context, routing.Outcome) error {
	return func(ctx context.Context, o routing.Outcome) error {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("%w: %s", ErrInvalid, apperr.MessageOf(err))
		}
		if _, err := st.Report(ctx, o); err != nil {
			if errors.Is(err, routing.ErrNotProjected) {
				// The router rebuilds the table: worth another try.
				return fmt.Errorf("%w: the routing table of %q is not in Redis", ErrUnavailable, o.Service)
			}
			return fmt.Errorf("%w: report %s/%s: %w", sentinelFor(apperr.CodeOf(err)), o.Service, o.Instance, err)
		}
		return nil
	}
}

// register exports the counts as greyrouter_sdk_outcome_reports_total.
func (r *Reporter) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for result, read := range map[string]func() uint64{
		"sent": r.sent.Load, "rejected": r.rejected.Load, "failed": r.failed.Load,
		"dropped": func() uint64 { return r.w.Dropped() },
	} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "greyrouter_sdk_outcome_reports_total",
			Help:        "Outcome reports by result: sent to the router, rejected by it, failed (part of a batch lost), dropped (never sent).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(read()) })
		if err := reg.Register(c); err != nil {
			for _, m := range r.metrics {
				reg.Unregister(m)
			}
			return errors.Join(errors.New("sdk/router: register reporter metrics"), err)
		}
		r.metrics = append(r.metrics, c)
	}
	r.reg = reg
	return nil
}
