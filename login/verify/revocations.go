package verify

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

// ExpiryGrace is how long a revocation is kept past its ExpiresAt: tokens
// are accepted up to the verifier's leeway after their exp, so the event
// must outlive them by at least that much (Config.Leeway may not exceed it).
const ExpiryGrace = 5 * time.Minute

// Source is where revocation events come from; login.RevocationFeed
// satisfies it.
type Source interface {
	// Read returns up to limit events after cursor ("" for the oldest)
	// and the cursor of the last one returned.
	Read(ctx context.Context, cursor string, limit int) ([]login.Revocation, string, error)
}

var _ Source = login.RevocationFeed(nil)

// readLimit is how many events Follow asks for at once.
const readLimit = 500

// revEntry is what a revocation rejects until when.
type revEntry struct {
	gen    int64 // subjects only: tokens with a lower gen are rejected
	reason string
	until  time.Time // ExpiresAt + ExpiryGrace
}

// Indexes of revState.byKind.
const (
	subjects = iota
	sessions
	tokens
)

// kindIndex returns the index of a kind in revState.byKind, or -1.
func kindIndex(k login.RevocationKind) int {
	switch k {
	case login.RevokeSubject:
		return subjects
	case login.RevokeSession:
		return sessions
	case login.RevokeToken:
		return tokens
	}
	return -1
}

// revState is an immutable snapshot, one map per kind keyed by the
// revoked subject, session id or jti. Writers replace it (copy on write),
// so the hot-path reader takes no lock.
type revState struct {
	byKind [3]map[string]revEntry
}

// Revocations is the in-memory revocation state of one process. Revoked
// is on every request's path and takes no lock; Apply copies the changed
// map, which is cheap because events are few and expire within a token
// lifetime. It is safe for concurrent use.
type Revocations struct {
	now    func() time.Time
	state  atomic.Pointer[revState]
	synced atomic.Int64 // unix nanoseconds of the last complete sync; 0 before
	mu     sync.Mutex   // serializes writers
	pruned time.Time
	err    error // of the last sync
}

// NewRevocations returns an empty state; now may be nil for time.Now.
func NewRevocations(now func() time.Time) *Revocations {
	if now == nil {
		now = time.Now
	}
	r := &Revocations{now: now}
	r.state.Store(&revState{byKind: [3]map[string]revEntry{{}, {}, {}}})
	return r
}

// Apply adds events. Repeated and out-of-order events merge: a subject
// keeps the highest generation and every entry the latest expiry.
// Entries past their expiry are dropped about once a minute.
func (r *Revocations) Apply(rs ...login.Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	ms := r.state.Load().byKind
	var fresh [3]bool // ms[i] is a copy this call owns
	if now.Sub(r.pruned) >= time.Minute {
		for i := range ms {
			ms[i], fresh[i] = live(ms[i], now), true
		}
		r.pruned = now
	}
	for _, ev := range rs {
		i := kindIndex(ev.Kind)
		until := ev.ExpiresAt.Add(ExpiryGrace)
		if i < 0 || ev.Subject == "" || !until.After(now) {
			continue
		}
		if !fresh[i] {
			ms[i], fresh[i] = maps.Clone(ms[i]), true
		}
		reason := ev.Reason
		if reason == "" {
			reason = string(ev.Kind) + " revoked"
		}
		e := revEntry{gen: ev.Generation, reason: reason, until: until}
		if prev, ok := ms[i][ev.Subject]; ok {
			if prev.gen > e.gen {
				e.gen, e.reason = prev.gen, prev.reason
			}
			if prev.until.After(e.until) {
				e.until = prev.until
			}
		}
		ms[i][ev.Subject] = e
	}
	r.state.Store(&revState{byKind: ms})
}

// live returns a copy of m without the entries expired at now.
func live(m map[string]revEntry, now time.Time) map[string]revEntry {
	out := make(map[string]revEntry, len(m))
	for k, e := range m {
		if e.until.After(now) {
			out[k] = e
		}
	}
	return out
}

// Revoked reports whether a revocation rejects the token with the claims
// at now, and why: its jti was revoked, its session was, or its subject's
// generation was raised above the token's.
func (r *Revocations) Revoked(c *login.AccessClaims, now time.Time) (reason string, revoked bool) {
	st := &r.state.Load().byKind
	if m := st[sessions]; len(m) > 0 && c.SessionID != "" {
		if e, ok := m[c.SessionID]; ok && now.Before(e.until) {
			return e.reason, true
		}
	}
	if m := st[subjects]; len(m) > 0 {
		if e, ok := m[c.Subject]; ok && c.Generation < e.gen && now.Before(e.until) {
			return e.reason, true
		}
	}
	if m := st[tokens]; len(m) > 0 && c.ID != "" {
		if e, ok := m[c.ID]; ok && now.Before(e.until) {
			return e.reason, true
		}
	}
	return "", false
}

// Len returns the number of entries held, expired ones included until
// they are pruned.
func (r *Revocations) Len() int {
	st := r.state.Load()
	return len(st.byKind[subjects]) + len(st.byKind[sessions]) + len(st.byKind[tokens])
}

// Synced returns when Follow last read the source to its end; zero before
// the first time.
func (r *Revocations) Synced() time.Time {
	n := r.synced.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Ready reports whether Follow has read the source to its end at least
// once: before that, revoked tokens may pass.
func (r *Revocations) Ready() bool { return r.synced.Load() != 0 }

// Staleness returns how old the state is at now; a very large duration
// before the first sync.
func (r *Revocations) Staleness(now time.Time) time.Duration {
	n := r.synced.Load()
	if n == 0 {
		return time.Duration(1<<63 - 1)
	}
	return now.Sub(time.Unix(0, n))
}

// Err returns the error of the last sync, nil when it succeeded.
func (r *Revocations) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Follow keeps the state in step with src until ctx ends: it reads every
// retained event at once, then reads on from its cursor whenever notify
// delivers (a pub/sub message; nil for none) and every poll interval
// (default 10 seconds), each time until the source has nothing more. A
// failed read is kept in Err and retried at the next occasion; Synced
// moves only when a read reaches the end. It returns ctx's error.
func (r *Revocations) Follow(ctx context.Context, src Source, notify <-chan struct{}, poll time.Duration) error {
	if poll <= 0 {
		poll = 10 * time.Second
	}
	cursor := ""
	pull := func() {
		next, err := r.drain(ctx, src, cursor)
		cursor = next
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		if err == nil {
			r.synced.Store(r.now().UnixNano())
		}
	}
	pull()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-notify:
			if !ok {
				notify = nil // a closed channel would spin; keep polling
				continue
			}
		case <-tick.C:
		}
		pull()
	}
}

// drain reads from cursor until the source returns nothing, applying each
// batch, and returns the cursor reached.
func (r *Revocations) drain(ctx context.Context, src Source, cursor string) (string, error) {
	for {
		rs, next, err := src.Read(ctx, cursor, readLimit)
		if err != nil {
			return cursor, fmt.Errorf("read revocations: %w", err)
		}
		if len(rs) == 0 {
			return cursor, nil
		}
		if next == cursor {
			return cursor, fmt.Errorf("read revocations: cursor %q did not advance", cursor)
		}
		r.Apply(rs...)
		cursor = next
	}
}
