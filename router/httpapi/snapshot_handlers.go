package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/router"
)

// Long-poll tuning for GET /api/v1/routing-snapshot.
const (
	// snapshotMaxWait bounds how long one request waits for a change.
	snapshotMaxWait = 60 * time.Second
	// snapshotRevisionCheck is how often, while someone waits, the latest
	// revision (and the decider's count of instance and circuit changes)
	// is compared with the cached snapshot's: configuration changes reach
	// waiting clients within about this long.
	snapshotRevisionCheck = 100 * time.Millisecond
	// snapshotMinRefresh is how often, while someone waits, the snapshot
	// is rebuilt anyway, to notice what neither a revision nor the
	// decider's change count shows (lapsed heartbeats, cooldowns over).
	// Rebuilding never takes more than a tenth of the time: a snapshot
	// that took 300 ms to read is rebuilt every 3 s at most, and a moved
	// change count rebuilds it no sooner than 3 s after the last build.
	snapshotMinRefresh = time.Second
	snapshotBuildShare = 10
	// snapshotBuildTimeout bounds one rebuild, which serves many callers
	// and so does not run on any one caller's context.
	snapshotBuildTimeout = 30 * time.Second
)

var etagRE = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// snapshotEntry is one built snapshot with its encodings, shared by every
// request that answers with it.
type snapshotEntry struct {
	snap   router.RoutingSnapshot
	body   []byte
	gzOnce sync.Once
	gz     []byte
}

func (e *snapshotEntry) gzipped() []byte {
	e.gzOnce.Do(func() {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = w.Write(e.body)
		_ = w.Close()
		e.gz = b.Bytes()
	})
	return e.gz
}

// snapshotServer answers GET /api/v1/routing-snapshot. One snapshot is
// cached for all callers; while callers wait, a watcher goroutine keeps it
// current and wakes them when its content changes, and stops when the last
// caller left. So the database sees one rebuild per change (and one per
// refresh interval), however many SDK clients poll.
type snapshotServer struct {
	m      *router.Manager
	log    *slog.Logger
	flight singleflight.Group

	mu         sync.Mutex
	cur        *snapshotEntry
	builtAt    time.Time     // when cur was read (or confirmed unchanged)
	revChecked time.Time     // when cur's revision was last compared
	minRefresh time.Duration // the least rebuild interval (Config.SnapshotRefresh)
	refresh    time.Duration // rebuild interval, from the last build's cost
	changed    chan struct{} // closed when cur's content changes
	waiters    int
	watching   bool
	// draining is closed when the server shuts down: nobody waits then.
	draining <-chan struct{}
	// changesAt is the decider's change count read before cur was built
	// (router.ChangeCounter): instance and circuit changes make no
	// revision, and a moved count rebuilds at once.
	changesAt int64
	lastTook  time.Duration // how long the last build took
}

// marks are what a check compares with the cached snapshot.
type marks struct{ revision, changes int64 }

// changes reads the decider's change count; -1 when it keeps none or
// cannot be read (then only revisions and the periodic rebuild count).
func (s *snapshotServer) changes(ctx context.Context) int64 {
	n, ok, err := s.m.RoutingChanges(ctx)
	if !ok || err != nil {
		return -1
	}
	return n
}

// routingSnapshot returns the handler; each API engine gets its own cache.
func (a *API) routingSnapshot() gin.HandlerFunc {
	s := &snapshotServer{m: a.m, log: a.log, minRefresh: a.snapshotRefresh, refresh: a.snapshotRefresh,
		changed: make(chan struct{}), draining: a.draining}
	return s.serve
}

// requireSnapshotReader admits machine clients and platform principals.
// A snapshot lists every tenant's routing, so people's credentials (easier
// to come by) may not read it; a tenant's machine client gets the part
// about its own tenant only (see serve).
func requireSnapshotReader() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := httpx.PrincipalOf(c)
		if !ok || !(p.Platform || p.Kind == login.PrincipalClient && p.Tenant != "") {
			httpx.WriteError(c, nil, apperr.New(apperr.Forbidden, "routing snapshots are for machine clients and platform administrators"))
			return
		}
		c.Next()
	}
}

// snapshotQuery is what the caller already holds and how long it waits.
type snapshotQuery struct {
	after    int64 // -1: not given
	etag     string
	wait     time.Duration
	acceptGz bool
}

func parseSnapshotQuery(c *gin.Context) (snapshotQuery, error) {
	q := snapshotQuery{after: -1, etag: c.Query("etag"), acceptGz: strings.Contains(c.GetHeader("Accept-Encoding"), "gzip")}
	if s := c.Query("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, apperr.New(apperr.Invalid, "after must be a revision number (0 or more)")
		}
		q.after = n
	}
	if q.etag != "" && !etagRE.MatchString(q.etag) {
		return q, apperr.New(apperr.Invalid, "etag must be the etag of an earlier snapshot")
	}
	if s := c.Query("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || time.Duration(n)*time.Second > snapshotMaxWait {
			return q, apperr.New(apperr.Invalid, "wait must be a number of seconds from 0 to %d", int(snapshotMaxWait/time.Second))
		}
		q.wait = time.Duration(n) * time.Second
	}
	return q, nil
}

// newer reports whether snap differs from what the caller holds. A caller
// that names nothing it holds gets the snapshot at once.
func (q snapshotQuery) newer(snap *router.RoutingSnapshot) bool {
	if q.etag == "" && q.after < 0 {
		return true
	}
	return q.etag != "" && q.etag != snap.ETag || q.after >= 0 && snap.Revision > q.after
}

func (s *snapshotServer) serve(c *gin.Context) {
	q, err := parseSnapshotQuery(c)
	if err != nil {
		httpx.WriteError(c, s.log, err)
		return
	}
	p, _ := httpx.PrincipalOf(c)
	tenant := ""
	if !p.Platform {
		tenant = p.Tenant
	}
	if q.wait > 0 {
		// Let the answer outlive the server's write timeout by the wait.
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(q.wait + 30*time.Second))
	}
	deadline := time.Now().Add(q.wait)
	ctx := c.Request.Context()
	for {
		changed := s.changedChan()
		e, err := s.current(ctx)
		if err != nil {
			httpx.WriteError(c, s.log, err)
			return
		}
		if tenant != "" {
			if e, err = tenantEntry(e, tenant); err != nil {
				httpx.WriteError(c, s.log, err)
				return
			}
		}
		c.Header("ETag", `"`+e.snap.ETag+`"`)
		c.Header("X-Greyrouter-Revision", strconv.FormatInt(e.snap.Revision, 10))
		if q.newer(&e.snap) {
			writeSnapshot(c, e, q.acceptGz)
			return
		}
		left := time.Until(deadline)
		if left <= 0 || s.isDraining() {
			c.Status(http.StatusNotModified)
			c.Writer.WriteHeaderNow()
			return
		}
		if !s.await(ctx, changed, left) {
			return // the caller left; nobody reads an answer
		}
	}
}

func writeSnapshot(c *gin.Context, e *snapshotEntry, acceptGz bool) {
	c.Header("Vary", "Accept-Encoding")
	if acceptGz {
		c.Header("Content-Encoding", "gzip")
		c.Data(http.StatusOK, "application/json", e.gzipped())
		return
	}
	c.Data(http.StatusOK, "application/json", e.body)
}

// tenantEntry encodes one tenant's view of a snapshot.
func tenantEntry(e *snapshotEntry, tenant string) (*snapshotEntry, error) {
	snap, err := e.snap.ForTenant(tenant)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(snap)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "encode routing snapshot")
	}
	return &snapshotEntry{snap: snap, body: body}, nil
}

// changedChan returns the channel closed at the next content change.
func (s *snapshotServer) changedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// await waits for a change or until left has passed, keeping the watcher
// running meanwhile; false when ctx ended.
func (s *snapshotServer) await(ctx context.Context, changed <-chan struct{}, left time.Duration) bool {
	s.mu.Lock()
	s.waiters++
	if !s.watching {
		s.watching = true
		go s.watch()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiters--
		s.mu.Unlock()
	}()
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	case <-s.draining:
	case <-ctx.Done():
		return false
	}
	return true
}

func (s *snapshotServer) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// watch keeps the snapshot current while anyone waits.
func (s *snapshotServer) watch() {
	t := time.NewTicker(snapshotRevisionCheck)
	defer t.Stop()
	for range t.C {
		s.mu.Lock()
		if s.waiters == 0 {
			s.watching = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if _, err := s.current(context.Background()); err != nil {
			s.log.Warn("routing snapshot refresh failed", "err", err)
		}
	}
}

// current returns the cached snapshot, rebuilt when it is older than the
// refresh interval or the latest revision moved past it.
func (s *snapshotServer) current(ctx context.Context) (*snapshotEntry, error) {
	s.mu.Lock()
	e, age, revAge := s.cur, time.Since(s.builtAt), time.Since(s.revChecked)
	refresh := s.refresh
	s.mu.Unlock()
	if e != nil && age < refresh {
		if revAge < snapshotRevisionCheck {
			return e, nil
		}
		v, err, _ := s.flight.Do("revision", func() (any, error) {
			ctx := context.WithoutCancel(ctx)
			rev, err := s.m.Store().LatestRevision(ctx)
			if err != nil {
				return nil, err
			}
			return marks{revision: rev, changes: s.changes(ctx)}, nil
		})
		s.mu.Lock()
		unchanged := v != nil && v.(marks).changes == s.changesAt || age < s.lastTook*snapshotBuildShare
		s.mu.Unlock()
		if err == nil && v.(marks).revision == e.snap.Revision && unchanged {
			s.mu.Lock()
			s.revChecked = time.Now()
			s.mu.Unlock()
			return e, nil
		}
	}
	v, err, _ := s.flight.Do("build", func() (any, error) { return s.build() })
	if err != nil {
		if e != nil {
			// Serve the last snapshot rather than fail every poller; the
			// next check tries again.
			s.log.Warn("routing snapshot rebuild failed; serving the last one", "err", err)
			return e, nil
		}
		return nil, err
	}
	return v.(*snapshotEntry), nil
}

// build reads a new snapshot and installs it, waking waiters if its
// content changed.
func (s *snapshotServer) build() (*snapshotEntry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), snapshotBuildTimeout)
	defer cancel()
	start := time.Now()
	// Read before the snapshot, so that a change during the read makes
	// the next check rebuild.
	changes := s.changes(ctx)
	snap, err := s.m.RoutingSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	prev := s.cur
	s.mu.Unlock()
	e := prev
	if prev == nil || prev.snap.ETag != snap.ETag {
		body, err := json.Marshal(snap)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "encode routing snapshot")
		}
		e = &snapshotEntry{snap: snap, body: body}
	}
	took := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.builtAt, s.revChecked, s.changesAt = e, start, start, changes
	s.refresh = max(s.minRefresh, snapshotBuildShare*took)
	s.lastTook = took
	if e != prev {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return e, nil
}
