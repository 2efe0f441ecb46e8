package batchlog

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// item is what the tests record: a number to check order and
// completeness, and a tenant for Describe.
type item struct {
	N      int
	Tenant string
	Secret string // never logged
}

// fakeStore records the batches it is given. It can fail the next writes,
// and, when gated, announces each write on entered and waits for release
// before storing.
type fakeStore struct {
	mu      sync.Mutex
	batches [][]item
	fail    int

	entered, release chan struct{}
}

var errStoreDown = errors.New("store down")

func (s *fakeStore) write(ctx context.Context, batch []item) error {
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
	s.batches = append(s.batches, slices.Clone(batch))
	return nil
}

// gated makes every write wait for a receive from release.
func (s *fakeStore) gated() *fakeStore {
	s.entered, s.release = make(chan struct{}), make(chan struct{})
	return s
}

// open lets every write through the gate from now on.
func (s *fakeStore) open() {
	close(s.release)
	go func() {
		for range s.entered {
		}
	}()
}

func (s *fakeStore) failNext(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
}

// sizes returns the size of every batch written so far.
func (s *fakeStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.batches))
	for i, b := range s.batches {
		out[i] = len(b)
	}
	return out
}

// stored returns the number of every item written so far, in order.
func (s *fakeStore) stored() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		for _, it := range b {
			out = append(out, it.N)
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

// quiet returns a Writer whose interval is too long to fire during a
// test, so that only full batches, Flush and Close write. opts may set
// Capacity, Batch and Describe; logs and c may be nil.
func quiet(t *testing.T, s *fakeStore, logs *logLines, c *clock, opts Options[item]) *Writer[item] {
	t.Helper()
	if c == nil {
		c = &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	}
	var log *slog.Logger
	if logs != nil {
		log = slog.New(logs)
	}
	opts.Name, opts.Interval, opts.Now = "test items", time.Hour, c.Now
	w := New(s.write, log, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// record records n items numbered from first.
func record(w *Writer[item], first, n int) {
	for i := first; i < first+n; i++ {
		w.Record(item{N: i, Tenant: "acme", Secret: "hunter2"})
	}
}

func numbered(first, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = first + i
	}
	return out
}

func TestWriterWritesFullBatchesInOrder(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch int
		want  []int
	}{
		{"by default of at most 256", 0, []int{256, 256, 88}},
		{"of at most Options.Batch", 250, []int{250, 250, 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &fakeStore{}
			w := quiet(t, s, nil, nil, Options[item]{Batch: c.batch})
			record(w, 0, 600)
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("flush: %v", err)
			}
			if got := s.sizes(); !slices.Equal(got, c.want) {
				t.Errorf("batch sizes = %v, want %v", got, c.want)
			}
			if got := s.stored(); !slices.Equal(got, numbered(0, 600)) {
				t.Errorf("items were written out of order or incompletely: %d items", len(got))
			}
			if w.Dropped() != 0 {
				t.Errorf("dropped = %d, want 0", w.Dropped())
			}
		})
	}
}

func TestWriterWritesWithinTheIntervalWithoutFlush(t *testing.T) {
	s := &fakeStore{}
	w := New(s.write, nil, Options[item]{Interval: 10 * time.Millisecond})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	record(w, 0, 3)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.stored()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the store holds %v, want 3 items", s.stored())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriterFlushWritesEverythingRecordedBeforeIt(t *testing.T) {
	s := &fakeStore{}
	w := quiet(t, s, nil, nil, Options[item]{})
	for round := range 3 {
		record(w, round*100, 100)
		if err := w.Flush(t.Context()); err != nil {
			t.Fatalf("flush %d: %v", round+1, err)
		}
		if got := s.stored(); !slices.Equal(got, numbered(0, (round+1)*100)) {
			t.Fatalf("after flush %d the store holds %d items, want %d in order", round+1, len(got), (round+1)*100)
		}
	}
}

func TestWriterFlushWhoseContextEndsKeepsTheBatchForTheNextOne(t *testing.T) {
	s := (&fakeStore{}).gated()
	w := quiet(t, s, nil, nil, Options[item]{})
	record(w, 0, 2)
	ctx, cancel := context.WithCancel(t.Context())
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush(ctx) }()
	<-s.entered // the write hangs until the flush's context ends
	cancel()
	if err := <-flushed; !errors.Is(err, context.Canceled) {
		t.Fatalf("flush = %v, want context.Canceled", err)
	}
	s.open()
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	if got := s.stored(); !slices.Equal(got, numbered(0, 2)) {
		t.Errorf("stored %v, want the batch the first flush could not write", got)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	close(s.entered)
}

func TestWriterDropsAndCountsWhenTheQueueIsFull(t *testing.T) {
	s := (&fakeStore{}).gated()
	logs := &logLines{}
	c := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	describe := func(it item) []any { return []any{"tenant", it.Tenant} }
	w := quiet(t, s, logs, c, Options[item]{Capacity: 4, Describe: describe})

	// Hold the flusher inside a write, so that nothing leaves the queue.
	record(w, 0, 1)
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush(context.Background()) }()
	<-s.entered

	record(w, 1, 4) // fills the queue
	if w.Dropped() != 0 {
		t.Fatalf("dropped = %d before the queue was full", w.Dropped())
	}
	record(w, 5, 3) // never blocks: dropped
	if w.Dropped() != 3 {
		t.Fatalf("dropped = %d, want 3", w.Dropped())
	}
	lines := logs.all()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "WARN test items dropped") ||
		!strings.Contains(lines[0], "tenant=acme") || !strings.Contains(lines[0], "dropped_total=1") ||
		!strings.Contains(lines[0], "capacity=4") {
		t.Fatalf("log = %q, want one warning for the first drop, with the tenant Describe gave", lines)
	}
	if strings.Contains(lines[0], "hunter2") {
		t.Errorf("the warning %q carries the item's contents", lines[0])
	}

	t.Run("the warning repeats at most once per 10 seconds", func(t *testing.T) {
		c.advance(9 * time.Second)
		record(w, 8, 1)
		if n := len(logs.all()); n != 1 {
			t.Fatalf("%d warnings after 9 s, want still 1", n)
		}
		c.advance(time.Second)
		record(w, 9, 1)
		lines := logs.all()
		if len(lines) != 2 || !strings.Contains(lines[1], "dropped_total=5") {
			t.Fatalf("log = %q, want a second warning with the total", lines)
		}
	})

	s.open()
	if err := <-flushed; err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	close(s.entered)
	if got := s.stored(); !slices.Equal(got, numbered(0, 5)) {
		t.Errorf("stored %v, want the five items that were queued", got)
	}
	if w.Dropped() != 5 {
		t.Errorf("dropped = %d, want 5", w.Dropped())
	}
}

func TestWriterRetriesAFailedBatchAsItWas(t *testing.T) {
	s := &fakeStore{}
	w := quiet(t, s, nil, nil, Options[item]{})
	s.failNext(2)
	record(w, 0, 2)
	for i := range 2 {
		if err := w.Flush(t.Context()); !errors.Is(err, errStoreDown) {
			t.Fatalf("flush %d with the store down = %v, want its error", i+1, err)
		}
	}
	record(w, 2, 1)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("flush with the store back: %v", err)
	}
	if got := s.stored(); !slices.Equal(got, numbered(0, 3)) {
		t.Errorf("stored %v, want all three items", got)
	}
	if got := s.sizes(); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("batch sizes = %v, want the failed batch as it was, then the new item", got)
	}
	if w.Dropped() != 0 {
		t.Errorf("dropped = %d, want 0", w.Dropped())
	}
}

func TestWriterDropsABatchAfterThreeFailedAttempts(t *testing.T) {
	s := &fakeStore{}
	logs := &logLines{}
	w := quiet(t, s, logs, nil, Options[item]{})
	s.failNext(DefaultAttempts)
	record(w, 0, 2)
	for i := range DefaultAttempts {
		if err := w.Flush(t.Context()); !errors.Is(err, errStoreDown) {
			t.Fatalf("flush %d with the store down = %v, want its error", i+1, err)
		}
		if want := uint64(0); i < DefaultAttempts-1 && w.Dropped() != want {
			t.Fatalf("dropped = %d after %d failed attempts, want %d", w.Dropped(), i+1, want)
		}
	}
	if w.Dropped() != 2 {
		t.Fatalf("dropped = %d, want the 2 items of the failed batch", w.Dropped())
	}
	lines := logs.all()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "WARN could not store test items") ||
		!strings.HasPrefix(lines[1], "ERROR test items dropped") ||
		!strings.Contains(lines[1], "dropped_total=2") || !strings.Contains(lines[1], errStoreDown.Error()) {
		t.Fatalf("log = %q, want one retry warning (rate-limited) and one drop error", lines)
	}
	record(w, 2, 1)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("flush with the store back: %v", err)
	}
	if got := s.stored(); !slices.Equal(got, []int{2}) {
		t.Errorf("stored %v, want only the item recorded after the drop", got)
	}
}

func TestWriterCloseDrainsTheQueue(t *testing.T) {
	s := &fakeStore{}
	w := quiet(t, s, nil, nil, Options[item]{})
	record(w, 0, 300)
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := s.stored(); !slices.Equal(got, numbered(0, 300)) {
		t.Fatalf("close stored %d items, want 300 in order", len(got))
	}
	select {
	case <-w.Done():
	default:
		t.Error("Done is still open after Close returned")
	}
	t.Run("records after close are dropped and counted", func(t *testing.T) {
		record(w, 300, 2)
		if w.Dropped() != 2 {
			t.Errorf("dropped = %d, want 2", w.Dropped())
		}
	})
	t.Run("flush and a second close have nothing to do", func(t *testing.T) {
		if err := w.Flush(t.Context()); err != nil {
			t.Errorf("flush after close: %v", err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Errorf("second close: %v", err)
		}
		if got := len(s.stored()); got != 300 {
			t.Errorf("store holds %d items, want 300", got)
		}
	})
}

func TestWriterCloseWithAFailingStoreDropsWhatItCannotWrite(t *testing.T) {
	s := &fakeStore{}
	w := quiet(t, s, nil, nil, Options[item]{})
	s.failNext(DefaultAttempts) // the first batch fails for good, the second is stored
	record(w, 0, DefaultBatch+1)
	if err := w.Close(t.Context()); !errors.Is(err, errStoreDown) {
		t.Fatalf("close = %v, want the store's error", err)
	}
	if w.Dropped() != DefaultBatch {
		t.Errorf("dropped = %d, want the %d items of the failed batch", w.Dropped(), DefaultBatch)
	}
	if got := s.stored(); !slices.Equal(got, []int{DefaultBatch}) {
		t.Errorf("stored %v, want the batch after the failed one", got)
	}
}

func TestWriterCloseReturnsWhenItsContextEnds(t *testing.T) {
	s := (&fakeStore{}).gated()
	w := quiet(t, s, nil, nil, Options[item]{})
	record(w, 0, 1)
	ctx, cancel := context.WithCancel(t.Context())
	closed := make(chan error, 1)
	go func() { closed <- w.Close(ctx) }()
	<-s.entered // the final drain is writing, and the store hangs
	cancel()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("close = %v, want context.Canceled", err)
	}
	// The flusher gives up too: its writes see the ended context.
	go func() {
		for range s.entered {
		}
	}()
	<-w.Done()
	close(s.entered)
	if w.Dropped() != 1 {
		t.Errorf("dropped = %d, want the unwritten item", w.Dropped())
	}
}

func TestWriterAccountsForEveryItemRecordedDuringClose(t *testing.T) {
	s := &fakeStore{}
	w := quiet(t, s, nil, nil, Options[item]{Capacity: 64})
	const writers, each = 8, 500
	start := make(chan struct{})
	var wg sync.WaitGroup
	for n := range writers {
		wg.Go(func() {
			<-start
			record(w, n*each, each)
		})
	}
	close(start)
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	stored := len(s.stored())
	if got := uint64(stored) + w.Dropped(); got != writers*each {
		t.Errorf("stored %d + dropped %d = %d, want every one of %d items accounted for", stored, w.Dropped(), got, writers*each)
	}
}
