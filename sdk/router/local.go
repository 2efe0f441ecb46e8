package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LocalConfig configures NewLocal.
type LocalConfig struct {
	// RouterURL is the router's base URL, such as "http://greyrouter:8080".
	RouterURL string
	// Tokens gives the bearer token for the snapshot endpoint: a machine
	// client's (a platform client for every tenant, a tenant's client for
	// its own tenant only) or a platform administrator's.
	Tokens TokenSource
	// HTTPClient fetches snapshots; it must not time out before
	// PollWait has passed. Default: a client without an overall timeout
	// (each request is bounded by PollWait plus 30 s).
	HTTPClient *http.Client
	// PollWait is how long one long poll waits for a change (at most 60
	// s). Default 30 s.
	PollWait time.Duration
	// ResyncInterval is how often the whole snapshot is fetched again
	// whatever the long poll says, as a guard against a missed change.
	// Default 5 minutes.
	ResyncInterval time.Duration
	// SnapshotFile, when set, keeps the last good snapshot on disk: it is
	// written after every change and read at start, so that a process
	// started while the router is unreachable still decides.
	SnapshotFile string
	// Registerer, when set, receives the client's metrics: staleness,
	// revision and sync outcomes.
	Registerer prometheus.Registerer
	// Logger receives sync problems; default none.
	Logger *slog.Logger
}

// local is the local mode: a compiled table swapped atomically by the
// sync loop and read by every decision.
type local struct {
	table  atomic.Pointer[table]
	cfg    LocalConfig
	fetch  *fetcher
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	// installMu orders installs (the loop and Refresh) and file writes.
	installMu sync.Mutex
	// confirmed is when the router last vouched for the table (unix ns);
	// polling is when the long poll in progress started (0: none);
	// vouched is whether the last fetch succeeded: only then does a long
	// poll in progress count as the router vouching (a poll sent to a
	// router that just failed, or to one never reached since a start
	// from the snapshot file, proves nothing until it answers).
	confirmed atomic.Int64
	polling   atomic.Int64
	vouched   atomic.Bool
	metrics   *localMetrics
}

// firstFetchWithFile bounds the first fetch when a snapshot file could
// stand in: a router that does not answer quickly is taken as down.
const firstFetchWithFile = 2 * time.Second

// NewLocal starts a client that decides in-process from the router's
// routing snapshot. It returns once it has a snapshot: from the router,
// or, when the router does not answer within two seconds, from
// SnapshotFile. Without either it keeps trying until ctx ends. A
// background loop then long-polls the router for changes until Close;
// when the router is unreachable, decisions go on from the last good
// snapshot and Staleness grows.
func NewLocal(ctx context.Context, cfg LocalConfig) (*Client, error) {
	if cfg.RouterURL == "" || cfg.Tokens == nil {
		return nil, errors.New("sdk/router: NewLocal needs RouterURL and Tokens")
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 30 * time.Second
	}
	cfg.PollWait = min(cfg.PollWait, 60*time.Second)
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 5 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &local{cfg: cfg, log: log, done: make(chan struct{}),
		fetch: &fetcher{url: strings.TrimRight(cfg.RouterURL, "/") + "/api/v1/routing-snapshot", tokens: cfg.Tokens, hc: cfg.HTTPClient}}
	m, err := newLocalMetrics(cfg.Registerer, l)
	if err != nil {
		return nil, err
	}
	l.metrics = m
	if cfg.SnapshotFile != "" {
		if err := l.loadFile(); err != nil {
			log.Warn("routing snapshot file not used", "file", cfg.SnapshotFile, "err", err)
		}
	}
	if err := l.first(ctx); err != nil {
		m.unregister()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.run(runCtx)
	return &Client{local: l}, nil
}

// first gets the first snapshot from the router, retrying until ctx ends,
// or for a short while only when the file already gave one.
func (l *local) first(ctx context.Context) error {
	if l.table.Load() != nil {
		fctx, cancel := context.WithTimeout(ctx, firstFetchWithFile)
		defer cancel()
		if err := l.sync(fctx, false); err != nil {
			l.log.Warn("router unreachable at start; deciding from the snapshot file", "err", err)
		}
		return nil
	}
	var b backoff
	for {
		err := l.sync(ctx, false)
		if err == nil {
			return nil
		}
		l.log.Warn("routing snapshot fetch failed", "err", err)
		if !b.sleep(ctx) {
			return fmt.Errorf("%w: no routing snapshot: %w", ErrUnavailable, err)
		}
	}
}

// run long-polls until the client closes, fetching everything again every
// ResyncInterval, backing off while the router fails.
func (l *local) run(ctx context.Context) {
	defer close(l.done)
	var b backoff
	lastFull := time.Now()
	for ctx.Err() == nil {
		full := time.Since(lastFull) >= l.cfg.ResyncInterval
		if err := l.sync(ctx, !full); err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("routing snapshot sync failed; deciding from the last snapshot", "err", err,
				"staleness", l.staleness(time.Now()))
			b.sleep(ctx)
			continue
		}
		b.reset()
		if full {
			lastFull = time.Now()
		}
	}
}

// sync fetches once: a long poll for a change of the snapshot held when
// poll is set, else the whole snapshot at once.
func (l *local) sync(ctx context.Context, poll bool) error {
	cur := l.table.Load()
	q := fetchQuery{after: -1}
	if poll && cur != nil {
		q = fetchQuery{etag: cur.etag, after: cur.revision, wait: l.cfg.PollWait}
		l.polling.Store(time.Now().UnixNano())
		defer l.polling.Store(0)
	}
	start := time.Now()
	res, err := l.fetch.fetch(ctx, q)
	if err != nil {
		l.vouched.Store(false)
		l.metrics.syncs.WithLabelValues("error").Inc()
		return err
	}
	l.vouched.Store(true)
	if res.snap == nil || (cur != nil && res.snap.ETag == cur.etag) {
		l.metrics.syncs.WithLabelValues("unchanged").Inc()
		l.confirm(start)
		return nil
	}
	t, err := compile(res.snap)
	if err != nil {
		l.metrics.syncs.WithLabelValues("error").Inc()
		return fmt.Errorf("routing snapshot refused: %w", err)
	}
	l.install(t, start, res.raw)
	l.metrics.syncs.WithLabelValues("changed").Inc()
	return nil
}

// install swaps in a new table and keeps it on disk.
func (l *local) install(t *table, confirmed time.Time, raw []byte) {
	l.installMu.Lock()
	defer l.installMu.Unlock()
	if cur := l.table.Load(); cur != nil && cur.revision > t.revision {
		// A slower fetch of an older snapshot lost the race.
		return
	}
	l.table.Store(t)
	l.confirm(confirmed)
	if l.cfg.SnapshotFile != "" && raw != nil {
		if err := writeSnapshotFile(l.cfg.SnapshotFile, confirmed, raw); err != nil {
			l.log.Warn("routing snapshot not saved", "file", l.cfg.SnapshotFile, "err", err)
		}
	}
}

// confirm records that the router vouched for the table at t (the start
// of the request that said so: it may have changed right after).
func (l *local) confirm(t time.Time) {
	for {
		old := l.confirmed.Load()
		if t.UnixNano() <= old || l.confirmed.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

// staleness: see Client.Staleness. A poll counts until its wait (plus a
// grace for the answer to arrive) is over.
func (l *local) staleness(now time.Time) time.Duration {
	if p := l.polling.Load(); p != 0 && l.vouched.Load() && now.Before(time.Unix(0, p).Add(l.cfg.PollWait+5*time.Second)) {
		return 0
	}
	c := l.confirmed.Load()
	if c == 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, c)))
}

func (l *local) resolve(tenant, service string, opts ResolveOptions) (Instance, error) {
	t := l.table.Load()
	if t == nil {
		return Instance{}, fmt.Errorf("%w: no routing snapshot yet", ErrUnavailable)
	}
	return t.decide(tenant, service, opts)
}

// Refresh fetches the whole snapshot now, rather than at the next change
// or resync. Local mode only; remote clients return nil at once.
func (c *Client) Refresh(ctx context.Context) error {
	if c.local == nil {
		return nil
	}
	return c.local.sync(ctx, false)
}

func (l *local) close() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
		l.cancel = nil
	}
	l.metrics.unregister()
}

// backoff sleeps 100 ms, doubling up to 1 s, with jitter. The cap is
// what bounds how late a client notices a router that came back after an
// outage (the SDK's bar is 2 s); a failed fetch costs the router little
// (a refused connection, or one request), so polling at this pace is
// affordable even for many clients.
type backoff struct{ d time.Duration }

func (b *backoff) reset() { b.d = 0 }

// sleep waits the next delay; false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	b.d = min(max(2*b.d, 100*time.Millisecond), time.Second)
	d := b.d/2 + rand.N(b.d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
