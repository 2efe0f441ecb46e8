package cache_test

import (
	"fmt"
	"testing"

	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/cache"
)

// BenchmarkL1Get times a hit and a miss of the shared decision cache on
// the coarse clock.
func BenchmarkL1Get(b *testing.B) {
	clk := cache.NewCoarseClock()
	defer clk.Close()
	c := cache.NewL1(cache.L1Options{Size: 10_000, Now: clk.NowNano})
	keys := make([]cache.Key, 1000)
	for i := range keys {
		keys[i] = cache.Key{Tenant: 1, Subject: fmt.Sprintf("user-%d", i), Action: "read", Resource: "orders/1", Version: 7, PlatformVersion: 2}
		c.Put(keys[i], privilege.Decision{Allowed: true, PolicyVersion: 7, PlatformVersion: 2})
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if c.Get(keys[i%len(keys)]) == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := keys[i%len(keys)]
			k.Version++
			if c.Get(k) != nil {
				b.Fatal("hit")
			}
		}
	})
}
