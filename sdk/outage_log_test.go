package sdk_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// tally collects what the SDK clients log during the outage test, one
// line per component and message with how often and in which phases, so
// that the report says what each client told its operator without
// repeating a warning hundreds of times.
type tally struct {
	clk *clock

	mu    sync.Mutex
	order []string
	seen  map[string]*tallied
}

type tallied struct {
	level       slog.Level
	n           int
	first, last string // phase and offset
	attrs       string // of the first record
}

func newTally(clk *clock) *tally { return &tally{clk: clk, seen: map[string]*tallied{}} }

// logger returns a logger whose records are tallied under component.
func (t *tally) logger(component string) *slog.Logger {
	return slog.New(&tallyHandler{t: t, component: component})
}

func (t *tally) add(component string, r slog.Record) {
	at := ""
	if p := t.clk.now(); p != nil {
		at = fmt.Sprintf("%s +%.1fs", phaseNames[p.p], r.Time.Sub(p.start).Seconds())
	}
	key := component + ": " + r.Message
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.seen[key]
	if e == nil {
		var attrs []string
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a.String())
			return true
		})
		e = &tallied{level: r.Level, first: at, attrs: strings.Join(attrs, " ")}
		t.seen[key] = e
		t.order = append(t.order, key)
	}
	e.n++
	e.last = at
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, k := range t.order {
		e := t.seen[k]
		fmt.Fprintf(&b, "  %-5s %s ×%d (first: %s; last: %s)\n        %s\n", e.level, k, e.n, e.first, e.last, e.attrs)
	}
	return b.String()
}

type tallyHandler struct {
	t         *tally
	component string
}

func (h *tallyHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *tallyHandler) Handle(_ context.Context, r slog.Record) error {
	h.t.add(h.component, r)
	return nil
}

// WithAttrs and WithGroup drop what they are given: the tally keys on
// messages.
func (h *tallyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *tallyHandler) WithGroup(string) slog.Handler      { return h }

// quietRedis discards go-redis's own log (a line per failed dial while
// Redis is down); the SDK clients report the outage themselves.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
