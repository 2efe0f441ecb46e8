package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The queue, batching, retry and close mechanics are internal/batchlog's
// and tested there; these tests cover what AuditLog adds (event stamps,
// its batch size, warnings that name kind and tenant) through the
// wrapper.

// fakeAuditStore records the batches it is given. When gated, it
// announces each write on entered and waits for release before storing.
type fakeAuditStore struct {
	mu      sync.Mutex
	batches [][]AuditEvent

	entered, release chan struct{}
}

func (s *fakeAuditStore) AddAuditEvents(ctx context.Context, es []AuditEvent) error {
	if s.entered != nil {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(es))
	return nil
}

func (s *fakeAuditStore) ListAuditEvents(context.Context, AuditQuery) ([]AuditEvent, error) {
	return nil, errors.New("not used")
}

// gated makes every write wait for a receive from release.
func (s *fakeAuditStore) gated() *fakeAuditStore {
	s.entered, s.release = make(chan struct{}), make(chan struct{})
	return s
}

// sizes returns the size of every batch written so far.
func (s *fakeAuditStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.batches))
	for i, b := range s.batches {
		out[i] = len(b)
	}
	return out
}

// reasons returns the Reason of every event written so far, in order.
func (s *fakeAuditStore) reasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.batches {
		for _, e := range b {
			out = append(out, e.Reason)
		}
	}
	return out
}

// logLines is a slog handler that keeps every record as one line of text.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (h *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (h *logLines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logLines) WithGroup(string) slog.Handler            { return h }
func (h *logLines) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

func (h *logLines) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// quietLog returns an AuditLog whose interval is too long to fire during a
// test, so that only full batches, Flush and Close write.
func quietLog(t *testing.T, store AuditStore, logs *logLines, capacity int, c *clock) *AuditLog {
	t.Helper()
	if c == nil {
		c = &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	}
	var log *slog.Logger
	if logs != nil {
		log = slog.New(logs)
	}
	l := newAuditLog(store, log, capacity, time.Hour, c.Now)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	})
	return l
}

// record records n events whose reasons number them from first.
func record(l *AuditLog, first, n int) {
	for i := first; i < first+n; i++ {
		l.Record(context.Background(), AuditEvent{Kind: "login_success", Tenant: "acme", Reason: fmt.Sprint(i), At: time.Unix(int64(i), 0)})
	}
}

func numbered(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(first + i)
	}
	return out
}

func TestAuditLogWritesBatchesOfAtMost256InOrder(t *testing.T) {
	store := &fakeAuditStore{}
	l := quietLog(t, store, nil, 0, nil)
	record(l, 0, 600)
	if err := l.Flush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if got := store.sizes(); !slices.Equal(got, []int{256, 256, 88}) {
		t.Errorf("batch sizes = %v, want [256 256 88]", got)
	}
	if got := store.reasons(); !slices.Equal(got, numbered(0, 600)) {
		t.Errorf("events were written out of order or incompletely: %d events", len(got))
	}
	if l.Dropped() != 0 {
		t.Errorf("dropped = %d, want 0", l.Dropped())
	}
}

func TestAuditLogRecordStampsEventsWithoutATime(t *testing.T) {
	store := &fakeAuditStore{}
	c := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("x", 3600))}
	l := quietLog(t, store, nil, 0, c)
	l.Record(t.Context(), AuditEvent{Kind: "logout"})
	if err := l.Flush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if at := store.batches[0][0].At; !at.Equal(c.Now()) || at.Location() != time.UTC {
		t.Errorf("event stamped %v, want %v in UTC", at, c.Now())
	}
}

func TestAuditLogDropsAndCountsWhenTheQueueIsFull(t *testing.T) {
	store := (&fakeAuditStore{}).gated()
	logs := &logLines{}
	c := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	l := quietLog(t, store, logs, 4, c)

	// Hold the flusher inside a write, so that nothing leaves the queue.
	record(l, 0, 1)
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush(context.Background()) }()
	<-store.entered

	record(l, 1, 4) // fills the queue
	if l.Dropped() != 0 {
		t.Fatalf("dropped = %d before the queue was full", l.Dropped())
	}
	record(l, 5, 3) // never blocks: dropped
	if l.Dropped() != 3 {
		t.Fatalf("dropped = %d, want 3", l.Dropped())
	}
	if lines := logs.all(); len(lines) != 1 || !strings.Contains(lines[0], "dropped_total=1") ||
		!strings.Contains(lines[0], "kind=login_success") || !strings.Contains(lines[0], "tenant=acme") {
		t.Fatalf("log = %q, want one warning for the first drop, with its kind and tenant", lines)
	}

	t.Run("the warning repeats at most once per 10 seconds", func(t *testing.T) {
		c.advance(9 * time.Second)
		record(l, 8, 1)
		if n := len(logs.all()); n != 1 {
			t.Fatalf("%d warnings after 9 s, want still 1", n)
		}
		c.advance(time.Second)
		record(l, 9, 1)
		lines := logs.all()
		if len(lines) != 2 || !strings.Contains(lines[1], "dropped_total=5") {
			t.Fatalf("log = %q, want a second warning with the total", lines)
		}
	})

	close(store.release) // every later write passes the gate at once
	go func() {
		for range store.entered {
		}
	}()
	if err := <-flushed; err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	close(store.entered)
	if got := store.reasons(); !slices.Equal(got, numbered(0, 5)) {
		t.Errorf("stored %v, want the five events that were queued", got)
	}
	if l.Dropped() != 5 {
		t.Errorf("dropped = %d, want 5", l.Dropped())
	}
}

func TestAuditLogCloseDrainsTheQueue(t *testing.T) {
	store := &fakeAuditStore{}
	l := quietLog(t, store, nil, 0, nil)
	record(l, 0, 300)
	if err := l.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := store.reasons(); !slices.Equal(got, numbered(0, 300)) {
		t.Fatalf("close stored %d events, want 300 in order", len(got))
	}
	t.Run("later records are dropped and counted", func(t *testing.T) {
		record(l, 300, 1)
		if l.Dropped() != 1 {
			t.Errorf("dropped = %d, want 1", l.Dropped())
		}
	})
	t.Run("flush and a second close have nothing to do", func(t *testing.T) {
		if err := l.Flush(t.Context()); err != nil {
			t.Errorf("flush after close: %v", err)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Errorf("second close: %v", err)
		}
		if got := len(store.reasons()); got != 300 {
			t.Errorf("store holds %d events, want 300", got)
		}
	})
}
