package login

import (
	"context"
	"log/slog"
	"time"

	"github.com/greyrouter/greyrouter/internal/batchlog"
)

// DefaultAuditQueue is how many events an AuditLog holds when its
// capacity is not positive.
const DefaultAuditQueue = batchlog.DefaultCapacity

// AuditLog is the Auditor that makes audit events durable through an
// AuditStore without making the request that caused them wait for the
// database: Record only queues the event, and a background flusher writes
// the queue in batches of at most 256 (a batchlog.Writer with its default
// options).
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
	w   *batchlog.Writer[AuditEvent]
	now func() time.Time
}

// NewAuditLog returns a running AuditLog that queues up to capacity events
// (DefaultAuditQueue when capacity is not positive) and writes them to
// store. log may be nil to discard its warnings. Call Close to stop it.
func NewAuditLog(store AuditStore, log *slog.Logger, capacity int) *AuditLog {
	return newAuditLog(store, log, capacity, 0, time.Now)
}

// newAuditLog is NewAuditLog with the flush interval (0 for the default)
// and the clock of the time stamps and drop warnings chosen by tests.
func newAuditLog(store AuditStore, log *slog.Logger, capacity int, interval time.Duration, now func() time.Time) *AuditLog {
	return &AuditLog{
		now: now,
		w: batchlog.New(store.AddAuditEvents, log, batchlog.Options[AuditEvent]{
			Name:     "audit events",
			Capacity: capacity,
			Interval: interval,
			Now:      now,
			Describe: func(e AuditEvent) []any { return []any{"kind", e.Kind, "tenant", e.Tenant} },
		}),
	}
}

// Record queues e and returns at once; an event without a time is stamped
// now. When the queue is full, or the log is closed, the event is dropped
// and counted. ctx is not used: the event outlives the request.
func (l *AuditLog) Record(_ context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	l.w.Record(e)
}

// Dropped returns how many events were never stored: dropped because the
// queue was full or the log closed, or because the store kept rejecting
// them.
func (l *AuditLog) Dropped() uint64 { return l.w.Dropped() }

// Flush writes every event recorded before it was called and returns the
// store's error if one could not be written; that batch stays queued for
// a retry (see AuditLog). After Close it has nothing to do.
func (l *AuditLog) Flush(ctx context.Context) error { return l.w.Flush(ctx) }

// Close stops accepting events, writes those queued and stops the
// flusher. Batches the store rejects get their remaining attempts at once
// and are then dropped; when ctx ends first, Close returns its error and
// the flusher drops what is left (writes see the ended ctx) and stops.
// Calling Close again waits for the first call's work and returns its
// result.
func (l *AuditLog) Close(ctx context.Context) error { return l.w.Close(ctx) }
