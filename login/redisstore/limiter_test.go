package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

func testLocksAtLimit(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 3, BaseLockout: 500 * time.Millisecond, MaxLockout: time.Minute}
	s := account(t)
	if d := check(t, lim, s, p); d != 0 {
		t.Fatalf("Check of a fresh account = %v, want 0", d)
	}
	if d := failN(t, lim, s, p, 3); d != p.BaseLockout {
		t.Fatalf("failure at the limit locked for %v, want the base lockout %v", d, p.BaseLockout)
	}
	between(t, "Check while locked", check(t, lim, s, p), 0, p.BaseLockout)
	// A failure that raced with the lock neither counts nor escalates.
	between(t, "Fail while locked", fail(t, lim, s, p), 0, p.BaseLockout)
	_, l := redisstore.KeysOf(s)
	if n := rdb.HGet(context.Background(), l, "n").Val(); n != "1" {
		t.Errorf("lockouts recorded = %q, want 1", n)
	}
}

func testEscalation(t *testing.T, _ redis.UniversalClient, lim *redisstore.Limiter) {
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 2, BaseLockout: 100 * time.Millisecond, MaxLockout: 400 * time.Millisecond}
	s := account(t)
	for i, want := range []time.Duration{100, 200, 400, 400} {
		want *= time.Millisecond
		if i > 0 {
			waitUnlocked(t, lim, s, p)
		}
		if d := failN(t, lim, s, p, p.MaxFailures); d != want {
			t.Fatalf("lockout %d lasted %v, want %v", i+1, d, want)
		}
	}
}

func testDecay(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 1, BaseLockout: 100 * time.Millisecond, MaxLockout: time.Second}
	s := account(t)
	_, l := redisstore.KeysOf(s)
	// Each row plants a lockout history, as if earlier lockouts had ended
	// endedAgo before now, and fails once more.
	for _, tt := range []struct {
		endedAgo time.Duration
		n        int
		want     time.Duration
	}{
		{endedAgo: 1100 * time.Millisecond, n: 5, want: 100 * time.Millisecond}, // quiet for more than MaxLockout: decayed
		{endedAgo: 900 * time.Millisecond, n: 1, want: 200 * time.Millisecond},  // quiet for less: escalates
		{endedAgo: 10 * time.Millisecond, n: 2, want: 400 * time.Millisecond},
	} {
		until := redisNow(t, rdb) - tt.endedAgo.Milliseconds()
		if err := rdb.HSet(ctx, l, "until", until, "n", tt.n).Err(); err != nil {
			t.Fatalf("plant lockout history: %v", err)
		}
		if d := fail(t, lim, s, p); d != tt.want {
			t.Errorf("after %d lockouts ending %v ago, the next lasted %v, want %v", tt.n, tt.endedAgo, d, tt.want)
		}
	}
}

func testSlidingWindow(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	p := redisstore.Policy{Window: 400 * time.Millisecond, MaxFailures: 3, BaseLockout: time.Minute, MaxLockout: time.Minute}
	s := account(t)
	f, _ := redisstore.KeysOf(s)
	fail(t, lim, s, p)
	start := time.Now()
	waitFor(t, "half the window passed", func() bool { return time.Since(start) >= p.Window/2 })
	fail(t, lim, s, p)
	first, err := rdb.ZRangeWithScores(context.Background(), f, 0, 0).Result()
	if err != nil || len(first) != 1 {
		t.Fatalf("read the first failure: %v %v", first, err)
	}
	out := int64(first[0].Score) + p.Window.Milliseconds()
	waitFor(t, "the first failure left the window", func() bool { return redisNow(t, rdb) > out })
	// Three failures in all, but only two in the window: no lockout.
	if d := fail(t, lim, s, p); d != 0 {
		t.Fatalf("third failure, second in the window, locked for %v; want none", d)
	}
	if n := rdb.ZCard(context.Background(), f).Val(); n != 2 {
		t.Fatalf("failures in the window = %d, want 2", n)
	}
	if d := fail(t, lim, s, p); d != p.BaseLockout {
		t.Fatalf("third failure in the window locked for %v, want %v", d, p.BaseLockout)
	}
}

func testReset(t *testing.T, _ redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 3, BaseLockout: 150 * time.Millisecond, MaxLockout: 10 * time.Second}
	s := account(t)
	fail(t, lim, s, p)
	fail(t, lim, s, p)
	if err := lim.Reset(ctx, s); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	// Without the reset the first of these would be the third failure.
	if d := failN(t, lim, s, p, 3); d != p.BaseLockout {
		t.Fatalf("lockout after reset = %v, want %v", d, p.BaseLockout)
	}
	waitUnlocked(t, lim, s, p)
	if err := lim.Reset(ctx, s); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if d := failN(t, lim, s, p, 3); d != 2*p.BaseLockout {
		t.Fatalf("lockout after lock, success, lock = %v, want the doubled %v", d, 2*p.BaseLockout)
	}
}

func testIndependence(t *testing.T, _ redis.UniversalClient, lim *redisstore.Limiter) {
	pa := redisstore.Policy{Window: time.Minute, MaxFailures: 1, BaseLockout: time.Minute, MaxLockout: time.Hour}
	pi := redisstore.Policy{Window: time.Minute, MaxFailures: 2, BaseLockout: time.Minute, MaxLockout: time.Hour}
	acct := redisstore.AccountSubject("acme", t.Name())
	other := redisstore.AccountSubject("globex", t.Name())
	ip := mustIP("2001:db8:a::1")
	if d := fail(t, lim, acct, pa); d == 0 {
		t.Fatal("account not locked at its limit")
	}
	if d := check(t, lim, other, pa); d != 0 {
		t.Errorf("same username in another tenant locked for %v", d)
	}
	// The account's failure did not count for the IP: it locks at its second.
	if d := failN(t, lim, ip, pi, 2); d != pi.BaseLockout {
		t.Errorf("IP locked for %v at its limit, want %v", d, pi.BaseLockout)
	}
	if d := check(t, lim, mustIP("2001:db8:a::ffff"), pi); d == 0 {
		t.Error("another address of the locked /64 is not locked")
	}
	if d := check(t, lim, mustIP("2001:db8:b::1"), pi); d != 0 {
		t.Errorf("an address of another /64 is locked for %v", d)
	}
	if d := check(t, lim, other, pa); d != 0 {
		t.Errorf("other tenant's account locked for %v after the IP lockout", d)
	}
}

func testCheckAll(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	acct, ip := account(t), mustIP("192.0.2.20")
	pa := redisstore.Policy{Window: time.Minute, MaxFailures: 1, BaseLockout: 2 * time.Second, MaxLockout: time.Hour}
	pi := redisstore.Policy{Window: time.Minute, MaxFailures: 1, BaseLockout: 300 * time.Millisecond, MaxLockout: time.Hour}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		fa, _ := redisstore.KeysOf(acct)
		fi, _ := redisstore.KeysOf(ip)
		sa, sb := cc.ClusterKeySlot(ctx, fa).Val(), cc.ClusterKeySlot(ctx, fi).Val()
		if sa == sb {
			t.Fatalf("account and IP share slot %d; pick names in different slots", sa)
		}
	}
	both := []redisstore.SubjectPolicy{{Subject: acct, Policy: pa}, {Subject: ip, Policy: pi}}
	checkAll := func() time.Duration {
		t.Helper()
		d, err := lim.CheckAll(ctx, both)
		if err != nil {
			t.Fatalf("CheckAll: %v", err)
		}
		return d
	}
	if d := checkAll(); d != 0 {
		t.Fatalf("CheckAll before any failure = %v, want 0", d)
	}
	fail(t, lim, ip, pi)
	between(t, "CheckAll with the IP locked", checkAll(), 0, pi.BaseLockout)
	fail(t, lim, acct, pa)
	between(t, "CheckAll with both locked", checkAll(), pi.BaseLockout, pa.BaseLockout)
	if d, err := lim.CheckAll(ctx, nil); d != 0 || err != nil {
		t.Errorf("CheckAll(nil) = %v, %v; want 0, nil", d, err)
	}
}

func testScriptFlush(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter) {
	ctx := context.Background()
	p := redisstore.Policy{Window: time.Minute, MaxFailures: 1, BaseLockout: time.Minute, MaxLockout: time.Hour}
	s := account(t)
	fail(t, lim, s, p)
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() })
	} else {
		err = rdb.ScriptFlush(ctx).Err()
	}
	if err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
	d, err := lim.CheckAll(ctx, []redisstore.SubjectPolicy{{Subject: s, Policy: p}})
	if err != nil || d == 0 {
		t.Fatalf("CheckAll after SCRIPT FLUSH = %v, %v; want the lockout", d, err)
	}
}

func TestLimiterReportsRedisOutageAsUnavailable(t *testing.T) {
	srv := testutil.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	srv.Stop(t)
	lim, s, p := redisstore.New(rdb), redisstore.AccountSubject("acme", "alice"), redisstore.AccountPolicy()
	ctx := context.Background()
	_, errCheck := lim.Check(ctx, s, p)
	_, errFail := lim.Fail(ctx, s, p)
	_, errAll := lim.CheckAll(ctx, []redisstore.SubjectPolicy{{Subject: s, Policy: p}})
	errReset := lim.Reset(ctx, s)
	for name, err := range map[string]error{"Check": errCheck, "Fail": errFail, "CheckAll": errAll, "Reset": errReset} {
		if !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("%s with Redis down = %v, want an unavailable error", name, err)
		}
	}
}

func TestLimiterRefusesInvalidInput(t *testing.T) {
	lim, ctx := redisstore.New(nil), context.Background() // never reaches Redis
	s, p := redisstore.AccountSubject("acme", "alice"), redisstore.AccountPolicy()
	_, errZero := lim.Check(ctx, redisstore.Subject{}, p)
	_, errPolicy := lim.Fail(ctx, s, redisstore.Policy{})
	_, errAll := lim.CheckAll(ctx, []redisstore.SubjectPolicy{{Subject: s, Policy: p}, {Policy: p}})
	errReset := lim.Reset(ctx, redisstore.Subject{})
	for name, err := range map[string]error{"zero subject": errZero, "zero policy": errPolicy, "CheckAll with a zero subject": errAll, "Reset of a zero subject": errReset} {
		if !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: err = %v, want an invalid error", name, err)
		}
	}
}
