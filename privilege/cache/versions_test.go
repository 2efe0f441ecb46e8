package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege/cache"
)

// follower starts a Versions on rdb that stops when the test ends.
func follower(t *testing.T, o cache.VersionsOptions) *cache.Versions {
	t.Helper()
	v := cache.NewVersions(o)
	if err := v.PollOnce(t.Context()); err != nil {
		t.Fatalf("first poll: %v", err)
	}
	v.Start()
	t.Cleanup(v.Close)
	return v
}

// eventually retries cond until it holds or a deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAnnouncementsReachFollowersWithinASecond(t *testing.T) {
	testutil.RedisBackends(t, func(t *testing.T, rdb redis.UniversalClient) {
		// A poll every hour: only the announcement can tell.
		var mu sync.Mutex
		sources := map[string]int{}
		f := follower(t, cache.VersionsOptions{Redis: rdb, PollInterval: time.Hour, OnLearn: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			sources[s]++
		}})
		writer := cache.NewVersions(cache.VersionsOptions{Redis: rdb})
		// The subscription is confirmed asynchronously; announce until
		// the follower hears one, then time the next.
		v := int64(0)
		eventually(t, 5*time.Second, "the follower subscribed", func() bool {
			v++
			if err := writer.Announce(t.Context(), "acme", v); err != nil {
				t.Fatal(err)
			}
			return f.Known("acme") > 0
		})
		start := time.Now()
		if err := writer.Announce(t.Context(), "acme", v+1); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "announcement heard", func() bool { return f.Known("acme") == v+1 })
		t.Logf("announcement heard after %v", time.Since(start))

		if err := writer.Announce(t.Context(), "", 9); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "platform announcement heard", func() bool { return f.Platform() == 9 })
		if f.Known("-") != 0 || f.Known("") != 9 {
			t.Fatalf(`the platform's field "-" was learned as a tenant: Known("-")=%d Known("")=%d`, f.Known("-"), f.Known(""))
		}
		mu.Lock()
		defer mu.Unlock()
		if sources["pubsub"] == 0 {
			t.Fatalf("learned from %v, want pubsub", sources)
		}
	})
}

func TestAnnouncementsNeverLowerAVersion(t *testing.T) {
	rdb := testutil.Redis(t).Client(t)
	w := cache.NewVersions(cache.VersionsOptions{Redis: rdb})
	for _, v := range []int64{5, 3} {
		if err := w.Announce(t.Context(), "acme", v); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := w.ReadHash(t.Context())
	if err != nil || vs["acme"] != 5 {
		t.Fatalf("hash %v, %v; want acme at 5", vs, err)
	}
	f := follower(t, cache.VersionsOptions{Redis: rdb, PollInterval: time.Hour})
	if f.Known("acme") != 5 {
		t.Fatalf("first poll learned %d, want 5", f.Known("acme"))
	}
	if f.Learn("acme", 4, "test") || f.Known("acme") != 5 {
		t.Fatalf("Learn lowered the version to %d", f.Known("acme"))
	}
}

func TestPollsConfirmTheVersionsAndStalenessGrowsWithoutThem(t *testing.T) {
	srv := testutil.Redis(t)
	rdb := srv.Client(t)
	w := cache.NewVersions(cache.VersionsOptions{Redis: rdb})
	if err := w.Announce(t.Context(), "acme", 2); err != nil {
		t.Fatal(err)
	}
	v := cache.NewVersions(cache.VersionsOptions{Redis: rdb, PollInterval: 50 * time.Millisecond})
	t.Cleanup(v.Close)
	if v.Staleness() < time.Hour || v.Confirmed() != 0 {
		t.Fatalf("staleness %v before any poll", v.Staleness())
	}
	v.Start() // the first poll comes from the subscription or the ticker
	eventually(t, 3*time.Second, "first poll", func() bool { return v.Known("acme") == 2 && v.Staleness() < time.Second })

	srv.Stop(t)
	eventually(t, 5*time.Second, "staleness grows while Redis is away", func() bool { return v.Staleness() > 500*time.Millisecond })
	srv.Start(t) // empty, like a restart without persistence
	eventually(t, 5*time.Second, "polls confirm again after Redis returns", func() bool { return v.Staleness() < 200*time.Millisecond })
	if err := w.Announce(t.Context(), "acme", 3); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "resubscribed follower hears the next announcement", func() bool { return v.Known("acme") == 3 })
}

func TestPollFunctionsReplaceTheHash(t *testing.T) {
	var calls int
	var learned []string
	v := cache.NewVersions(cache.VersionsOptions{
		Poll: func(ctx context.Context) (map[string]int64, string, error) {
			calls++
			if calls == 1 {
				return nil, "", errors.New("database away")
			}
			return map[string]int64{"acme": 4, "": 2}, "poll-db", nil
		},
		OnLearn:     func(s string) { learned = append(learned, s) },
		OnPollError: func(error) { learned = append(learned, "error") },
	})
	if err := v.PollOnce(t.Context()); err == nil || v.Confirmed() != 0 {
		t.Fatalf("failed poll: err %v, confirmed %d", err, v.Confirmed())
	}
	if err := v.PollOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v.Known("acme") != 4 || v.Platform() != 2 || v.Staleness() > time.Second {
		t.Fatalf("after a poll: acme %d, platform %d, staleness %v", v.Known("acme"), v.Platform(), v.Staleness())
	}
	if len(learned) != 3 || learned[0] != "error" || learned[1] != "poll-db" || learned[2] != "poll-db" {
		t.Fatalf("callbacks %v", learned)
	}
	if v.Announce(t.Context(), "acme", 5) != nil {
		t.Fatal("Announce without Redis must do nothing")
	}
}

func TestTenantsAreInternedOnce(t *testing.T) {
	v := cache.NewVersions(cache.VersionsOptions{})
	v.Start() // without Redis or Poll: nothing to follow
	defer v.Close()
	if v.Lookup("acme") != nil {
		t.Fatal("Lookup created a tenant")
	}
	var wg sync.WaitGroup
	ids := make([]uint32, 8)
	for i := range ids {
		wg.Go(func() { ids[i] = v.Tenant("acme").ID() })
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == 0 {
			t.Fatalf("ids %v", ids)
		}
	}
	if g := v.Tenant("globex"); g.ID() == ids[0] || g.Name() != "globex" {
		t.Fatalf("globex %d %q", g.ID(), g.Name())
	}
	if v.Tenant("").ID() != 0 || v.Tenant("") != v.Lookup("") {
		t.Fatal("the platform is not its own record")
	}
}
