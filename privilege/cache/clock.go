package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// CoarseClock is a clock read with one atomic load: a goroutine stores
// the time every CoarseTick. time.Now costs ~50 ns on this kind of VM, a
// sixth of the L1 budget; a cache hit needs to know the time only well
// enough to honour expiries, and L1 stops serving entries Margin (two
// ticks) early so that a late tick never serves an answer past the expiry
// it rests on.
type CoarseClock struct {
	nanos atomic.Int64
	stop  chan struct{}
	once  sync.Once
}

// CoarseTick is how often a CoarseClock moves.
const CoarseTick = time.Millisecond

// NewCoarseClock starts a clock; Close stops its goroutine.
func NewCoarseClock() *CoarseClock {
	c := &CoarseClock{stop: make(chan struct{})}
	c.nanos.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(CoarseTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.nanos.Store(now.UnixNano())
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

// NowNano returns the time, as Unix nanoseconds, at most a tick old.
func (c *CoarseClock) NowNano() int64 { return c.nanos.Load() }

// Close stops the clock; it keeps answering the last time stored.
func (c *CoarseClock) Close() { c.once.Do(func() { close(c.stop) }) }
