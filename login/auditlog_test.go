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

	"github.com/greyrouter/greyrouter/internal/batchlog"
)

// fakeAuditStore records the batches it is given. It can fail the next
// writes, and, when gated, announces each write on entered and waits for
// release before storing.
type fakeAuditStore struct {
	mu      sync.Mutex
	batches [][]AuditEvent
	fail    int

	entered, release chan struct{}
}

var errStoreDown = errors.New("store down")

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
	if s.fail > 0 {
		s.fail--
		return errStoreDown
	}
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

func (s *fakeAuditStore) failNext(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
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

func TestAuditLogWritesWithinTheIntervalWithoutFlush(t *testing.T) {
	store := &fakeAuditStore{}
	l := NewAuditLog(store, nil, 0)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	record(l, 0, 3)
	deadline := time.Now().Add(5 * time.Second)
	for len(store.reasons()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the store holds %v, want 3 events", store.reasons())
		}
		time.Sleep(10 * time.Millisecond)
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

func TestAuditLogRetriesAFailedBatch(t *testing.T) {
	store := &fakeAuditStore{}
	l := quietLog(t, store, nil, 0, nil)
	store.failNext(2)
	record(l, 0, 2)
	for i := range 2 {
		if err := l.Flush(t.Context()); !errors.Is(err, errStoreDown) {
			t.Fatalf("flush %d with the store down = %v, want its error", i+1, err)
		}
	}
	record(l, 2, 1)
	if err := l.Flush(t.Context()); err != nil {
		t.Fatalf("flush with the store back: %v", err)
	}
	if got := store.reasons(); !slices.Equal(got, numbered(0, 3)) {
		t.Errorf("stored %v, want all three events", got)
	}
	if got := store.sizes(); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("batch sizes = %v, want the failed batch as it was, then the new event", got)
	}
	if l.Dropped() != 0 {
		t.Errorf("dropped = %d, want 0", l.Dropped())
	}
}

func TestAuditLogDropsABatchAfterThreeFailedAttempts(t *testing.T) {
	store := &fakeAuditStore{}
	logs := &logLines{}
	l := quietLog(t, store, logs, 0, nil)
	store.failNext(3)
	record(l, 0, 2)
	for i := range 3 {
		if err := l.Flush(t.Context()); !errors.Is(err, errStoreDown) {
			t.Fatalf("flush %d with the store down = %v, want its error", i+1, err)
		}
	}
	if l.Dropped() != 2 {
		t.Fatalf("dropped = %d, want the 2 events of the failed batch", l.Dropped())
	}
	lines := logs.all()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "WARN") || !strings.HasPrefix(lines[1], "ERROR") ||
		!strings.Contains(lines[1], "dropped_total=2") || !strings.Contains(lines[1], errStoreDown.Error()) {
		t.Fatalf("log = %q, want one retry warning and one drop error", lines)
	}
	record(l, 2, 1)
	if err := l.Flush(t.Context()); err != nil {
		t.Fatalf("flush with the store back: %v", err)
	}
	if got := store.reasons(); !slices.Equal(got, []string{"2"}) {
		t.Errorf("stored %v, want only the event recorded after the drop", got)
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

func TestAuditLogCloseWithAFailingStoreDropsWhatItCannotWrite(t *testing.T) {
	store := &fakeAuditStore{}
	l := quietLog(t, store, nil, 0, nil)
	store.failNext(batchlog.DefaultAttempts) // the first batch fails for good, the second is stored
	record(l, 0, batchlog.DefaultBatch+1)
	if err := l.Close(t.Context()); !errors.Is(err, errStoreDown) {
		t.Fatalf("close = %v, want the store's error", err)
	}
	if l.Dropped() != batchlog.DefaultBatch {
		t.Errorf("dropped = %d, want the %d events of the failed batch", l.Dropped(), batchlog.DefaultBatch)
	}
	if got := store.reasons(); !slices.Equal(got, []string{fmt.Sprint(batchlog.DefaultBatch)}) {
		t.Errorf("stored %v, want the batch after the failed one", got)
	}
}

func TestAuditLogCloseReturnsWhenItsContextEnds(t *testing.T) {
	store := (&fakeAuditStore{}).gated()
	l := quietLog(t, store, nil, 0, nil)
	record(l, 0, 1)
	ctx, cancel := context.WithCancel(t.Context())
	closed := make(chan error, 1)
	go func() { closed <- l.Close(ctx) }()
	<-store.entered // the final drain is writing, and the store hangs
	cancel()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("close = %v, want context.Canceled", err)
	}
	// The flusher gives up too: its writes see the ended context.
	go func() {
		for range store.entered {
		}
	}()
	<-l.w.Done()
	close(store.entered)
	if l.Dropped() != 1 {
		t.Errorf("dropped = %d, want the unwritten event", l.Dropped())
	}
}

func TestAuditLogAccountsForEveryEventRecordedDuringClose(t *testing.T) {
	store := &fakeAuditStore{}
	l := quietLog(t, store, nil, 64, nil)
	const writers, each = 8, 500
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			record(l, w*each, each)
		})
	}
	close(start)
	if err := l.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	stored := len(store.reasons())
	if got := uint64(stored) + l.Dropped(); got != writers*each {
		t.Errorf("stored %d + dropped %d = %d, want every one of %d events accounted for", stored, l.Dropped(), got, writers*each)
	}
}
