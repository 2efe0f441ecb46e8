package batchlog

import "time"

// The defaults of Options: the flusher writes batches of at most
// DefaultBatch items, at least every DefaultInterval, each attempt bounded
// by DefaultWriteTimeout; a batch the store rejects DefaultAttempts times
// is dropped. Failures are logged at most once per DefaultLogEvery for
// each kind of failure.
const (
	DefaultCapacity     = 10_000
	DefaultBatch        = 256
	DefaultInterval     = 200 * time.Millisecond
	DefaultWriteTimeout = 10 * time.Second
	DefaultAttempts     = 3
	DefaultLogEvery     = 10 * time.Second
)

// Options tune a Writer. A field that is zero, or not positive, takes its
// default, so the zero Options are the production settings; tests shorten
// or lengthen the interval and set the clock.
type Options[T any] struct {
	// Name names the items in log lines, in the plural ("audit events",
	// "privilege decisions"); "items" when empty.
	Name string
	// Capacity is how many items the queue holds before Record drops
	// (DefaultCapacity).
	Capacity int
	// Batch is the most items one write carries (DefaultBatch); keep it
	// within what one INSERT of the store may bind.
	Batch int
	// Interval is how often the flusher writes what has been queued
	// without filling a batch (DefaultInterval), and so how long a failed
	// batch waits for its retry.
	Interval time.Duration
	// WriteTimeout bounds each write that no caller's context bounds: the
	// writes of full batches and of ticks (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Attempts is how many times a batch is written before it is dropped
	// and counted (DefaultAttempts).
	Attempts int
	// LogEvery is the least time between two log lines of one kind of
	// failure: retry, drop of a rejected batch, drop at Record
	// (DefaultLogEvery).
	LogEvery time.Duration
	// Describe returns slog key-value pairs that identify a dropped item
	// in the warning without its contents: a kind and a tenant, never an
	// IP, a name or attributes. Nil adds nothing of the item.
	Describe func(T) []any
	// Now is the clock of the log lines' rate limits (time.Now when nil).
	Now func() time.Time
}

// withDefaults returns o with every unset field at its default.
func (o Options[T]) withDefaults() Options[T] {
	if o.Name == "" {
		o.Name = "items"
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.LogEvery <= 0 {
		o.LogEvery = DefaultLogEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
