package cache_test

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/cache"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// fakeNow is a controllable clock in Unix nanoseconds.
type fakeNow struct{ n atomic.Int64 }

func (f *fakeNow) now() int64              { return f.n.Load() }
func (f *fakeNow) advance(d time.Duration) { f.n.Add(int64(d)) }

func TestL1ServesEntriesUntilTheirDeadline(t *testing.T) {
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	k := cache.Key{Tenant: 1, Subject: "alice", Action: "read", Resource: "orders/1", Version: 3, PlatformVersion: 1}
	allowed := privilege.Decision{Allowed: true, Reason: "role reader", PolicyVersion: 3, PlatformVersion: 1}

	t.Run("an entry is served until the TTL and not after", func(t *testing.T) {
		clk := &fakeNow{}
		clk.n.Store(start.UnixNano())
		c := cache.NewL1(cache.L1Options{Size: 100, TTL: time.Minute, Now: clk.now})
		c.Put(k, allowed)
		e := c.Get(k)
		if e == nil || !e.Decision.Allowed || e.Stored != start.UnixNano() {
			t.Fatalf("fresh entry %+v", e)
		}
		clk.advance(time.Minute - time.Nanosecond)
		if c.Get(k) == nil {
			t.Fatal("entry gone before its TTL")
		}
		clk.advance(time.Nanosecond)
		if e := c.Get(k); e != nil {
			t.Fatalf("entry served at its TTL: %+v", e)
		}
	})
	t.Run("an entry stops a margin before the assignment expiry it rests on", func(t *testing.T) {
		clk := &fakeNow{}
		clk.n.Store(start.UnixNano())
		c := cache.NewL1(cache.L1Options{Size: 100, TTL: time.Hour, Now: clk.now})
		d := allowed
		d.ValidUntil = start.Add(10 * time.Second)
		c.Put(k, d)
		clk.advance(10*time.Second - cache.Margin - time.Nanosecond)
		if c.Get(k) == nil {
			t.Fatal("entry gone before its margin")
		}
		clk.advance(time.Nanosecond)
		if e := c.Get(k); e != nil {
			t.Fatalf("entry served within the margin of its expiry: %+v", e)
		}
	})
	t.Run("conditional, explained and already expired decisions are not cached", func(t *testing.T) {
		clk := &fakeNow{}
		clk.n.Store(start.UnixNano())
		c := cache.NewL1(cache.L1Options{Size: 100, Now: clk.now})
		for name, d := range map[string]privilege.Decision{
			"conditional": {Allowed: true, Conditional: true},
			"explained":   {Allowed: true, Votes: []privilege.Vote{}},
			"expired":     {Allowed: true, ValidUntil: start.Add(cache.Margin)},
		} {
			c.Put(k, d)
			if e := c.Get(k); e != nil {
				t.Errorf("%s decision cached: %+v", name, e)
			}
		}
	})
	t.Run("a newer version in the key misses", func(t *testing.T) {
		c := cache.NewL1(cache.L1Options{Size: 100})
		c.Put(k, allowed)
		newer := k
		newer.Version++
		if c.Get(newer) != nil {
			t.Fatal("an entry of version 3 answered a lookup at version 4")
		}
		newer = k
		newer.PlatformVersion++
		if c.Get(newer) != nil {
			t.Fatal("an entry of platform version 1 answered a lookup at platform version 2")
		}
		if c.Get(k) == nil || c.Len() == 0 {
			t.Fatal("the entry itself is gone")
		}
	})
}

func TestCoarseClockFollowsTheTime(t *testing.T) {
	c := cache.NewCoarseClock()
	defer c.Close()
	if d := time.Since(time.Unix(0, c.NowNano())); d < 0 || d > time.Second {
		t.Fatalf("coarse clock %v off", d)
	}
	first := c.NowNano()
	deadline := time.Now().Add(2 * time.Second)
	for c.NowNano() == first {
		if time.Now().After(deadline) {
			t.Fatal("coarse clock did not move within 2 s")
		}
		time.Sleep(cache.CoarseTick)
	}
	c.Close()
	c.Close() // closing twice is harmless
}
