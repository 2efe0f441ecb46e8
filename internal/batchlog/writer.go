package batchlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Writer makes items durable through a write function without making the
// caller that produced them wait for it: Record only queues the item, and
// a background flusher writes the queue in batches.
//
// Lifecycle: New starts the flusher; Close stops it after writing what is
// queued, and must be called once the Writer is no longer needed (after
// whatever records into it has stopped, so that no Record is lost). Flush
// writes what is queued without stopping, for tests and for shutdown
// sequences that want to know the trail is complete.
//
// Writing is best effort under pressure, never a brake on the caller: when
// the queue is full the item is dropped and counted (Dropped), and a
// warning is logged at most once per Options.LogEvery. A batch the write
// function rejects is kept and retried at the next tick or Flush, holding
// back the queue meanwhile, so that an outage fills the bounded queue
// rather than memory; after Options.Attempts failed attempts it is dropped
// and counted too. Log lines carry counts and what Options.Describe
// returns, never the items' contents.
//
// Items are written in the order they were queued. A write that fails is
// retried with the same batch, no item added or removed; a write that
// failed only in reporting (a timeout after the commit) may so store a
// batch twice, unless the store ignores items it already holds (by id).
type Writer[T any] struct {
	write func(ctx context.Context, batch []T) error
	log   *slog.Logger
	opts  Options[T]

	queue   chan T
	flushes chan flushRequest
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the flusher has returned

	// mu orders Record's enqueue before Close: once closed is set no
	// item enters the queue, so the final drain sees every one.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeCtx  context.Context // set before stop is closed
	closeErr  error           // set before done is closed

	dropped     atomic.Uint64
	lastFullLog atomic.Int64 // Unix nanoseconds of the last "dropped at Record" warning; 0 for never

	// Owned by the flusher goroutine.
	batch        []T
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

// New returns a running Writer that queues items and writes them in
// batches with write, which is called from one goroutine at a time and
// must not modify the batch: a rejected batch is retried as it was. log
// may be nil to discard the warnings. Call Close to stop it.
func New[T any](write func(ctx context.Context, batch []T) error, log *slog.Logger, opts Options[T]) *Writer[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	w := &Writer[T]{
		write:   write,
		log:     log,
		opts:    opts,
		queue:   make(chan T, opts.Capacity),
		flushes: make(chan flushRequest),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go w.run()
	return w
}

// Record queues item and returns at once. When the queue is full, or the
// Writer is closed, the item is dropped and counted.
func (w *Writer[T]) Record(item T) {
	w.mu.RLock()
	queued := false
	if !w.closed {
		select {
		case w.queue <- item:
			queued = true
		default:
		}
	}
	w.mu.RUnlock()
	if !queued {
		w.dropOne(item)
	}
}

// Dropped returns how many items were never written: dropped because the
// queue was full or the Writer closed, or because the write function kept
// rejecting them.
func (w *Writer[T]) Dropped() uint64 { return w.dropped.Load() }

// Done is closed when the flusher has stopped: after Close has written or
// dropped everything, even when Close itself returned early because its
// context ended.
func (w *Writer[T]) Done() <-chan struct{} { return w.done }

// Flush writes every item recorded before it was called and returns the
// write function's error if one batch could not be written; that batch
// stays queued for a retry (see Writer). Writes use ctx. After Close it
// has nothing to do.
func (w *Writer[T]) Flush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case w.flushes <- req:
	case <-w.done:
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

// Close stops accepting items, writes those queued and stops the flusher.
// Batches the write function rejects get their remaining attempts at once
// and are then dropped; the first such error is returned. When ctx ends
// first, Close returns its error and the flusher drops what is left (its
// writes see the ended ctx) and stops; Done tells when. Calling Close
// again waits for the first call's work and returns its result.
func (w *Writer[T]) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		w.closeCtx = ctx
		close(w.stop)
	})
	select {
	case <-w.done:
		return w.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the flusher: it collects queued items into batches and writes a
// batch when it is full, when the interval passes, when asked to flush,
// and when closing.
func (w *Writer[T]) run() {
	defer close(w.done)
	ticker := time.NewTicker(w.opts.Interval)
	defer ticker.Stop()
	for {
		in := w.queue
		if w.attempts > 0 {
			in = nil // a failed batch waits for its retry; the queue absorbs meanwhile
		}
		select {
		case item := <-in:
			w.batch = append(w.batch, item)
			if len(w.batch) >= w.opts.Batch {
				_ = w.writeTimed()
			}
		case <-ticker.C:
			_ = w.writeTimed()
		case req := <-w.flushes:
			req.reply <- w.drain(req.ctx, false)
		case <-w.stop:
			w.closeErr = w.drain(w.closeCtx, true)
			return
		}
	}
}

// drain writes the items queued when it starts, in batches. It stops at
// the first failure unless final, in which case failed batches are retried
// until dropped and draining goes on.
func (w *Writer[T]) drain(ctx context.Context, final bool) error {
	var firstErr error
	for left := len(w.queue); ; {
		if w.attempts == 0 { // top up; a failed batch is retried as it was
			for ; left > 0 && len(w.batch) < w.opts.Batch; left-- {
				w.batch = append(w.batch, <-w.queue)
			}
		}
		if len(w.batch) == 0 {
			return firstErr
		}
		if err := w.writeBatch(ctx); err != nil {
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
func (w *Writer[T]) writeTimed() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.WriteTimeout)
	defer cancel()
	return w.writeBatch(ctx)
}

// writeBatch writes the batch. On failure the batch is kept for another
// attempt, or dropped and counted after the last one.
func (w *Writer[T]) writeBatch(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	err := w.write(ctx, w.batch)
	if err == nil {
		w.batch, w.attempts = nil, 0
		return nil
	}
	w.attempts++
	n := len(w.batch)
	if w.attempts < w.opts.Attempts {
		if w.due(&w.lastRetryLog) {
			w.log.Warn("could not store "+w.opts.Name+"; will retry", "count", n, "attempt", w.attempts, "err", err)
		}
		return err
	}
	total := w.dropped.Add(uint64(n))
	w.batch, w.attempts = nil, 0
	if w.due(&w.lastDropLog) {
		w.log.Error(w.opts.Name+" dropped: the store rejected them repeatedly", "count", n, "attempts", w.opts.Attempts, "dropped_total", total, "err", err)
	}
	return err
}

// due reports whether a log line last written at *last may be written
// again now, and if so records now. Only the flusher calls it.
func (w *Writer[T]) due(last *time.Time) bool {
	now := w.opts.Now()
	if !last.IsZero() && now.Sub(*last) < w.opts.LogEvery {
		return false
	}
	*last = now
	return true
}

// dropOne counts an item that could not be queued and warns, at most once
// per LogEvery whichever goroutine drops.
func (w *Writer[T]) dropOne(item T) {
	total := w.dropped.Add(1)
	now := w.opts.Now().UnixNano()
	last := w.lastFullLog.Load()
	if last != 0 && now-last < int64(w.opts.LogEvery) {
		return
	}
	if !w.lastFullLog.CompareAndSwap(last, now) {
		return // another goroutine is warning
	}
	var attrs []any
	if w.opts.Describe != nil {
		attrs = w.opts.Describe(item)
	}
	attrs = append(attrs, "dropped_total", total, "capacity", cap(w.queue))
	w.log.Warn(w.opts.Name+" dropped: queue full or writer closed", attrs...)
}
