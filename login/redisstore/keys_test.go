package redisstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login/redisstore"
)

func testExpiry(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 2, BaseLockout: time.Minute, MaxLockout: 5 * time.Minute}
	for _, s := range []redisstore.Subject{account(t), mustIP("192.0.2.30")} {
		f, l := redisstore.KeysOf(s)
		fail(t, lim, s, p)
		between(t, "PTTL of "+f, rdb.PTTL(ctx, f).Val(), 0, p.Window)
		if n := rdb.Exists(ctx, l).Val(); n != 0 {
			t.Errorf("lockout hash %s exists before any lockout", l)
		}
		fail(t, lim, s, p)
		if n := rdb.Exists(ctx, f).Val(); n != 0 {
			t.Errorf("failures %s kept after the lockout", f)
		}
		// The history lives as long as it can escalate: lockout + MaxLockout.
		between(t, "PTTL of "+l, rdb.PTTL(ctx, l).Val(), p.MaxLockout, p.BaseLockout+p.MaxLockout)
	}
}

func testHostileUsername(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 2, BaseLockout: time.Minute, MaxLockout: time.Hour}
	s := redisstore.AccountSubject("{t}/x", "}{a:b}{c}")
	f, l := redisstore.KeysOf(s)
	for _, k := range []string{f, l} {
		if strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
			t.Fatalf("key %q does not hold exactly one hash tag", k)
		}
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		if sf, sl := cc.ClusterKeySlot(ctx, f).Val(), cc.ClusterKeySlot(ctx, l).Val(); sf != sl {
			t.Fatalf("keys %s and %s are in slots %d and %d", f, l, sf, sl)
		}
	}
	// On Cluster, keys in two slots would fail with CROSSSLOT here.
	if d := failN(t, lim, s, p, 2); d != p.BaseLockout {
		t.Fatalf("hostile username locked for %v, want %v", d, p.BaseLockout)
	}
	if d := check(t, lim, redisstore.AccountSubject("{t}", "x/}{a:b}{c}"), p); d != 0 {
		t.Errorf("an account splitting the same text differently is locked for %v", d)
	}
}

func testConcurrentFailures(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	const n = 20
	ctx := context.Background()
	for _, tt := range []struct {
		name          string
		limit         int
		locked, zeros int
		recorded      int64 // failures left in the window
	}{
		{"exactly one of 20 failures at a limit of 20 locks", 20, 1, 19, 0},
		{"20 failures under a limit of 21 are all recorded", 21, 0, 20, 20},
		{"failures racing a lockout do not escalate it", 5, 16, 4, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := redisstore.Policy{Window: time.Minute, MaxFailures: tt.limit, BaseLockout: time.Minute, MaxLockout: time.Hour}
			s := account(t)
			got := make([]time.Duration, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					got[i], errs[i] = lim.Fail(ctx, s, p)
				})
			}
			close(start)
			wg.Wait()
			locked, zeros := 0, 0
			for i, d := range got {
				if errs[i] != nil {
					t.Fatalf("Fail: %v", errs[i])
				}
				if d == 0 {
					zeros++
				} else {
					locked++
				}
			}
			if locked != tt.locked || zeros != tt.zeros {
				t.Errorf("%d failures saw a lockout and %d none; want %d and %d", locked, zeros, tt.locked, tt.zeros)
			}
			f, l := redisstore.KeysOf(s)
			if c := rdb.ZCard(ctx, f).Val(); c != tt.recorded {
				t.Errorf("failures recorded = %d, want %d", c, tt.recorded)
			}
			wantLockouts := "1"
			if tt.locked == 0 {
				wantLockouts = ""
			}
			if got := rdb.HGet(ctx, l, "n").Val(); got != wantLockouts {
				t.Errorf("lockouts recorded = %q, want %q", got, wantLockouts)
			}
		})
	}
}
