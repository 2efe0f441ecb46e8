package login

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAuditQueue is how many events an AuditLog holds when its
// capacity is not positive.
const DefaultAuditQueue = 10_000

// How the AuditLog's flusher writes: batches of at most auditBatch events,
// at least every auditInterval, each attempt bounded by auditWriteTimeout;
// a batch the store rejects auditAttempts times is dropped. Failures are
// logged at most once per auditLogEvery for each kind of failure.
const (
	auditBatch        = 256
	auditInterval     = 200 * time.Millisecond
	auditWriteTimeout = 10 * time.Second
	auditAttempts     = 3
	auditLogEvery     = 10 * time.Second
)

// AuditLog is the Auditor that makes audit events durable through an
// AuditStore without making the request that caused them wait for the
// database: Record only queues the event, and a background flusher writes
// the queue in batches.
//
// Lifecycle: NewAuditLog starts the flusher; Close stops it after writing
// what is queued, and must be called once the log is no longer needed
// (after the HTTP server has stopped, so that no Record is lost). Flush
// writes what is queued without stopping, for tests and for shutdown
// sequences that want to know the trail is complete.
//
// Audit is best effort under pressure, never a brake on logins: when the
// queue is full the event is dropped and counted (Dropped), and a warning
// is logged at most once per ten seconds. A batch the store rejects is
// kept and retried at the next tick (200 ms) or Flush, holding back the
// queue meanwhile, so that an outage fills the bounded queue rather than
// memory; after three failed attempts it is dropped and counted too. Log
// lines carry counts, kinds and tenants, never event contents such as IPs.
type AuditLog struct {
	store AuditStore
	log   *slog.Logger
	now   func() time.Time

	queue   chan AuditEvent
	flushes chan flushRequest
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the flusher has returned

	// mu orders Record's enqueue before Close: once closed is set no
	// event enters the queue, so the final drain sees every one.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeCtx  context.Context // set before stop is closed
	closeErr  error           // set before done is closed

	dropped     atomic.Uint64
	lastFullLog atomic.Int64 // Unix nanoseconds of the last "queue full" warning; 0 for never

	// Owned by the flusher goroutine.
	batch        []AuditEvent
	attempts     int // failed writes of batch so far
	lastRetryLog time.Time
	lastDropLog  time.Time
}

// flushRequest asks the flusher to write what is queued; it answers on
// reply, which has room for the answer so that the flusher never waits.
type flushRequest struct {
	ctx   context.Context
	reply chan error
}

// NewAuditLog returns a running AuditLog that queues up to capacity events
// (DefaultAuditQueue when capacity is not positive) and writes them to
// store. log may be nil to discard its warnings. Call Close to stop it.
func NewAuditLog(store AuditStore, log *slog.Logger, capacity int) *AuditLog {
	return newAuditLog(store, log, capacity, auditInterval, time.Now)
}

// newAuditLog is NewAuditLog with the flush interval and the clock of the
// drop warnings chosen by tests.
func newAuditLog(store AuditStore, log *slog.Logger, capacity int, interval time.Duration, now func() time.Time) *AuditLog {
	if capacity <= 0 {
		capacity = DefaultAuditQueue
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &AuditLog{
		store:   store,
		log:     log,
		now:     now,
		queue:   make(chan AuditEvent, capacity),
		flushes: make(chan flushRequest),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go l.run(interval)
	return l
}

// Record queues e and returns at once; an event without a time is stamped
// now. When the queue is full, or the log is closed, the event is dropped
// and counted. ctx is not used: the event outlives the request.
func (l *AuditLog) Record(_ context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.mu.RLock()
	queued := false
	if !l.closed {
		select {
		case l.queue <- e:
			queued = true
		default:
		}
	}
	l.mu.RUnlock()
	if !queued {
		l.dropOne(e)
	}
}

// Dropped returns how many events were never stored: dropped because the
// queue was full or the log closed, or because the store kept rejecting
// them.
func (l *AuditLog) Dropped() uint64 { return l.dropped.Load() }

// Flush writes every event recorded before it was called and returns the
// store's error if one could not be written; that batch stays queued for
// a retry (see AuditLog). After Close it has nothing to do.
func (l *AuditLog) Flush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case l.flushes <- req:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, writes those queued and stops the
// flusher. Batches the store rejects get their remaining attempts at once
// and are then dropped; when ctx ends first, Close returns its error and
// the flusher drops what is left (writes see the ended ctx) and stops.
// Calling Close again waits for the first call's work and returns its
// result.
func (l *AuditLog) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.closeCtx = ctx
		close(l.stop)
	})
	select {
	case <-l.done:
		return l.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the flusher: it collects queued events into batches and writes a
// batch when it is full, when the interval passes, when asked to flush,
// and when closing.
func (l *AuditLog) run(interval time.Duration) {
	defer close(l.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		in := l.queue
		if l.attempts > 0 {
			in = nil // a failed batch waits for its retry; the queue absorbs meanwhile
		}
		select {
		case e := <-in:
			l.batch = append(l.batch, e)
			if len(l.batch) >= auditBatch {
				_ = l.writeTimed()
			}
		case <-ticker.C:
			_ = l.writeTimed()
		case req := <-l.flushes:
			req.reply <- l.drain(req.ctx, false)
		case <-l.stop:
			l.closeErr = l.drain(l.closeCtx, true)
			return
		}
	}
}

// drain writes the events queued when it starts, in batches. It stops at
// the first failure unless final, in which case failed batches are retried
// until dropped and draining goes on.
func (l *AuditLog) drain(ctx context.Context, final bool) error {
	var firstErr error
	for left := len(l.queue); ; {
		if l.attempts == 0 { // top up; a failed batch is retried as it was
			for ; left > 0 && len(l.batch) < auditBatch; left-- {
				l.batch = append(l.batch, <-l.queue)
			}
		}
		if len(l.batch) == 0 {
			return firstErr
		}
		if err := l.write(ctx); err != nil {
			if !final {
				return err
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
}

// writeTimed writes the batch with a bounded wait, for writes that no
// caller's context bounds.
func (l *AuditLog) writeTimed() error {
	ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
	defer cancel()
	return l.write(ctx)
}

// write stores the batch. On failure the batch is kept for another
// attempt, or dropped and counted after the last one.
func (l *AuditLog) write(ctx context.Context) error {
	if len(l.batch) == 0 {
		return nil
	}
	err := l.store.AddAuditEvents(ctx, l.batch)
	if err == nil {
		l.batch, l.attempts = nil, 0
		return nil
	}
	l.attempts++
	n := len(l.batch)
	if l.attempts < auditAttempts {
		if l.due(&l.lastRetryLog) {
			l.log.Warn("could not store audit events; will retry", "events", n, "attempt", l.attempts, "err", err)
		}
		return err
	}
	total := l.dropped.Add(uint64(n))
	l.batch, l.attempts = nil, 0
	if l.due(&l.lastDropLog) {
		l.log.Error("audit events dropped: the store rejected them repeatedly", "events", n, "attempts", auditAttempts, "dropped_total", total, "err", err)
	}
	return err
}

// due reports whether a log line last written at *last may be written
// again now, and if so records now.
func (l *AuditLog) due(last *time.Time) bool {
	now := l.now()
	if !last.IsZero() && now.Sub(*last) < auditLogEvery {
		return false
	}
	*last = now
	return true
}

// dropOne counts an event that could not be queued and warns, at most
// once per auditLogEvery whichever goroutine drops.
func (l *AuditLog) dropOne(e AuditEvent) {
	total := l.dropped.Add(1)
	now := l.now().UnixNano()
	last := l.lastFullLog.Load()
	if last != 0 && now-last < int64(auditLogEvery) {
		return
	}
	if !l.lastFullLog.CompareAndSwap(last, now) {
		return // another goroutine is warning
	}
	l.log.Warn("audit event dropped: queue full or log closed", "kind", e.Kind, "tenant", e.Tenant, "dropped_total", total, "capacity", cap(l.queue))
}
