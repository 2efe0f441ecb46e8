package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

func TestDecideVersionStep(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := redisstore.New(rdb)
		snap := snapshot(router.RoundRobin, inst("a1", "v1", 1), inst("b1", "v2", 1))
		snap.Bindings = []router.Binding{{
			Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2", Sticky: "key", Salt: "s1",
			Rules: []router.Rule{
				{Priority: 20, Version: "v1", When: []router.Condition{{Source: "attribute", Name: "plan", Op: "in", Values: []string{"free", "trial"}}}},
				{Priority: 10, Version: "v1", When: []router.Condition{{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"off"}}}},
			},
		}}
		project(t, st, snap)

		t.Run("a tenant without binding gets the default version", func(t *testing.T) {
			d := decide(t, st, router.Request{Tenant: "globex"})
			if d.Version != "v1" || d.Reason != "default" || d.Instance.ID != "a1" || d.Revision != snap.Revision {
				t.Fatalf("got %+v", d)
			}
			if d.Instance.Address != "a1.local:80" || d.Instance.Metadata["zone"] != "a" {
				t.Fatalf("instance details lost: %+v", d.Instance)
			}
		})
		t.Run("a pinned tenant gets its version", func(t *testing.T) {
			d := decide(t, st, router.Request{Tenant: "acme"})
			if d.Version != "v2" || d.Reason != "pin" || d.Deprecated {
				t.Fatalf("got %+v", d)
			}
		})
		t.Run("a decision for a deprecated version says so", func(t *testing.T) {
			dep := snap
			dep.Revision = revisions.Add(1)
			dep.Versions = []router.Version{{Service: "orders", Name: "v1", State: router.VersionActive}, {Service: "orders", Name: "v2", State: router.VersionDeprecated}}
			project(t, st, dep)
			if d := decide(t, st, router.Request{Tenant: "acme"}); d.Version != "v2" || !d.Deprecated {
				t.Fatalf("got %+v", d)
			}
			if d := decide(t, st, router.Request{Tenant: "globex"}); d.Deprecated {
				t.Fatalf("active version flagged: %+v", d)
			}
			snap.Revision = revisions.Add(1)
			project(t, st, snap)
		})
		t.Run("rules win over the pin, lowest priority first", func(t *testing.T) {
			d := decide(t, st, router.Request{Tenant: "acme", Headers: map[string]string{"x-canary": "off"}, Attributes: map[string]string{"plan": "free"}})
			if d.Version != "v1" || d.Reason != "rule" || d.Explain.Rule == nil || *d.Explain.Rule != 1 {
				t.Fatalf("got %+v explain %+v", d, d.Explain)
			}
			d = decide(t, st, router.Request{Tenant: "acme", Attributes: map[string]string{"plan": "trial"}})
			if d.Reason != "rule" || *d.Explain.Rule != 2 {
				t.Fatalf("in-rule did not match: %+v", d)
			}
			d = decide(t, st, router.Request{Tenant: "acme", Attributes: map[string]string{"plan": "pro"}})
			if d.Reason != "pin" {
				t.Fatalf("non-matching rule matched: %+v", d)
			}
		})
		t.Run("an unknown tenant is not found", func(t *testing.T) {
			_, err := st.Decide(ctx, router.Request{Tenant: "nobody", Service: "orders"}, router.DecideOptions{})
			if !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("want not found, got %v", err)
			}
		})
		t.Run("an unprojected service says so", func(t *testing.T) {
			_, err := st.Decide(ctx, router.Request{Tenant: "acme", Service: "billing"}, router.DecideOptions{})
			if !errors.Is(err, router.ErrNotProjected) {
				t.Fatalf("want ErrNotProjected, got %v", err)
			}
		})
		t.Run("an older revision does not overwrite a newer one", func(t *testing.T) {
			newer := snap
			newer.Revision = snap.Revision + 5
			newer.Bindings = nil
			project(t, st, newer)
			older := snap
			older.Revision = snap.Revision + 4
			project(t, st, older)
			if d := decide(t, st, router.Request{Tenant: "acme"}); d.Reason != "default" || d.Revision != newer.Revision {
				t.Fatalf("stale projection won: %+v", d)
			}
		})
		t.Run("a version without instances is unavailable", func(t *testing.T) {
			s := snapshot(router.RoundRobin, inst("a1", "v1", 1))
			s.Revision += 100
			s.Bindings = []router.Binding{{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2", Sticky: "key", Salt: "x"}}
			project(t, st, s)
			_, err := st.Decide(ctx, router.Request{Tenant: "acme", Service: "orders"}, router.DecideOptions{})
			if !apperr.Is(err, apperr.Unavailable) {
				t.Fatalf("want unavailable, got %v", err)
			}
		})
	})
}

// TestDecideAgreesWithPureLogic is the differential test: for generated
// bindings and requests the Lua script picks exactly the version that
// router.ChooseVersion picks in Go.
func TestDecideAgreesWithPureLogic(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		st := redisstore.New(rdb)
		rng := rand.New(rand.NewPCG(1, 2))
		versions := []string{"v1", "v2", "v3"}
		snap := snapshot(router.RoundRobin, inst("a", "v1", 1), inst("b", "v2", 1), inst("c", "v3", 1))
		snap.Versions = append(snap.Versions, router.Version{Service: "orders", Name: "v3", State: router.VersionActive},
			router.Version{Service: "orders", Name: "v4", State: router.VersionRetired},
			router.Version{Service: "orders", Name: "v5", State: router.VersionActive})
		// Lanes v1-v3 are up; v5 has no instance (down); v4 is retired
		// and v9 unknown (absent).
		supply := map[string]router.LaneSupply{"v1": router.LaneUp, "v2": router.LaneUp, "v3": router.LaneUp, "v5": router.LaneDown}
		cases := 300
		if testing.Short() {
			cases = 60
		}
		for i := range cases {
			b := genBinding(rng, versions)
			snap.Revision += 1
			snap.Bindings = []router.Binding{b}
			project(t, st, snap)
			for range 5 {
				req := genRequest(rng)
				want, wantErr := router.ChooseVersion(&snap.Service, &b, &req, 0, supply[req.Lane])
				got, gotErr := st.Decide(context.Background(), req, router.DecideOptions{Explain: true})
				if wantErr == nil && want.Version == "v5" {
					// A strict binding's lane without instances: the
					// instance step fails.
					if !apperr.Is(gotErr, apperr.Unavailable) {
						t.Fatalf("case %d: binding %+v request %+v: lua %v, want unavailable", i, b, req, gotErr)
					}
					continue
				}
				if wantErr != nil || gotErr != nil {
					if !errors.Is(gotErr, router.ErrNoLane) || !errors.Is(wantErr, router.ErrNoLane) || !apperr.Is(gotErr, apperr.NotFound) {
						t.Fatalf("case %d: binding %+v request %+v: lua %v, go %v", i, b, req, gotErr, wantErr)
					}
					continue
				}
				if wantLane := router.LaneAfter(req.Lane, got.Version, snap.Service.DefaultVersion); got.Lane != wantLane {
					t.Fatalf("case %d: binding %+v request %+v: lane after %s: lua %q, want %q", i, b, req, got.Version, got.Lane, wantLane)
				}
				if got.Version == want.Version && got.Lane != want.Lane {
					t.Fatalf("case %d: binding %+v request %+v: lane after the hop: lua %q, go %q", i, b, req, got.Lane, want.Lane)
				}
				if want.Bucket >= 0 && b.StickyKey(req) == "" {
					// No sticky key: the bucket is random, only the pair is fixed.
					if got.Version != b.Baseline && got.Version != b.Candidate {
						t.Fatalf("case %d: unsticky split chose %s", i, got.Version)
					}
					continue
				}
				if got.Version != want.Version || got.Reason != want.Reason {
					t.Fatalf("case %d: binding %+v request %+v: lua %s/%s, go %s/%s", i, b, req, got.Version, got.Reason, want.Version, want.Reason)
				}
				if want.Bucket >= 0 && req.Key != "" && (got.Explain.Bucket == nil || *got.Explain.Bucket != want.Bucket) {
					if b.StickyKey(req) != "" {
						t.Fatalf("case %d: bucket lua %v go %d", i, got.Explain.Bucket, want.Bucket)
					}
				}
			}
		}
	})
}

func genBinding(rng *rand.Rand, versions []string) router.Binding {
	pickV := func() string { return versions[rng.IntN(len(versions))] }
	b := router.Binding{Tenant: "acme", Service: "orders", Salt: fmt.Sprintf("salt%d", rng.IntN(1000))}
	switch rng.IntN(3) {
	case 0:
		b.Mode = router.ModeDefault
	case 1:
		b.Mode, b.Version = router.ModePin, pickV()
	default:
		b.Mode, b.Baseline, b.Candidate = router.ModeSplit, "v1", "v2"
		b.Percent = router.Percent(rng.IntN(10001))
	}
	b.Sticky = []string{"key", "header:x-user", "attribute:user"}[rng.IntN(3)]
	for j := range rng.IntN(4) {
		r := router.Rule{Priority: rng.IntN(5), Version: pickV()}
		for range 1 + rng.IntN(2) {
			c := router.Condition{Source: []string{"header", "attribute"}[rng.IntN(2)], Name: []string{"x-user", "user", "plan"}[rng.IntN(3)]}
			switch rng.IntN(3) {
			case 0:
				c.Op, c.Values = "equals", []string{genValue(rng)}
			case 1:
				c.Op, c.Values = "in", []string{genValue(rng), genValue(rng), genValue(rng)}
			default:
				c.Op, c.Values = "prefix", []string{genValue(rng)[:1]}
			}
			r.When = append(r.When, c)
		}
		_ = j
		b.Rules = append(b.Rules, r)
	}
	router.SortRules(b.Rules)
	b.LaneMode = []router.LaneMode{"", router.LanePermissive, router.LaneStrict, router.LaneIgnore}[rng.IntN(4)]
	return b
}

func genValue(rng *rand.Rand) string {
	return []string{"alice", "bob", "carol", "free", "pro"}[rng.IntN(5)]
}

func genRequest(rng *rand.Rand) router.Request {
	req := router.Request{Tenant: "acme", Service: "orders", Key: fmt.Sprintf("user-%d", rng.IntN(100000)),
		Headers: map[string]string{}, Attributes: map[string]string{}}
	for _, n := range []string{"x-user", "plan"} {
		if rng.IntN(2) == 0 {
			req.Headers[n] = genValue(rng)
		}
	}
	for _, n := range []string{"user", "plan"} {
		if rng.IntN(2) == 0 {
			req.Attributes[n] = genValue(rng)
		}
	}
	req.Lane = []string{"", "", "v1", "v2", "v3", "v4", "v5", "v9"}[rng.IntN(8)]
	return req
}

// TestBatchedDecisions checks the pipelined Store: concurrent decisions all
// get answers, and a Redis that forgot the script (SCRIPT FLUSH, restart)
// is taught it again without failing a call.
func TestBatchedDecisions(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := redisstore.NewBatched(rdb, 2)
		defer st.Close()
		project(t, st, snapshot(router.RoundRobin, inst("a", "v1", 1), inst("b", "v1", 1)))
		flush := rdb.ScriptFlush(ctx).Err()
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			flush = cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() })
		}
		if flush != nil {
			t.Fatal(flush)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					d, err := st.Decide(ctx, router.Request{Tenant: "globex", Service: "orders"}, router.DecideOptions{})
					if err != nil {
						t.Errorf("decide: %v", err)
						return
					}
					mu.Lock()
					got[d.Instance.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got["a"] != 200 || got["b"] != 200 {
			t.Fatalf("400 round-robin decisions split %v", got)
		}
		st.Close()
		// After Close, decisions still work, one round trip each.
		decide(t, st, router.Request{Tenant: "globex"})
	})
}

// TestProjectingAnUnchangedTableWritesNothing checks the resync shortcut:
// the same content is not rewritten, a changed one is.
func TestProjectingAnUnchangedTableWritesNothing(t *testing.T) {
	rdb := testutil.Redis(t).Client(t)
	ctx := context.Background()
	st := redisstore.New(rdb)
	snap := snapshot(router.RoundRobin, inst("a", "v1", 1))
	project(t, st, snap)
	// A value changed behind the projection's back shows whether the
	// table was rewritten.
	rdb.HSet(ctx, "gr:{orders}:cfg", "_lease", "999")
	snap.Revision += 10 // a later revision of the same content
	project(t, st, snap)
	if rdb.HGet(ctx, "gr:{orders}:cfg", "_lease").Val() != "999" {
		t.Fatal("an unchanged table was rewritten")
	}
	snap.Instances = append(snap.Instances, inst("b", "v1", 1))
	project(t, st, snap)
	if rdb.HGet(ctx, "gr:{orders}:cfg", "_lease").Val() == "999" {
		t.Fatal("a changed table was not rewritten")
	}
	if got := count(t, st, router.Request{Tenant: "globex"}, 4); got["b"] != 2 {
		t.Fatalf("new instance not routed: %v", got)
	}

	t.Run("tenants are added and removed without a rewrite", func(t *testing.T) {
		rdb.HSet(ctx, "gr:{orders}:cfg", "_lease", "999")
		if err := st.SetTenant(ctx, "orders", "initech", true); err != nil {
			t.Fatal(err)
		}
		if d := decide(t, st, router.Request{Tenant: "initech"}); d.Reason != "default" {
			t.Fatalf("added tenant: %+v", d)
		}
		// The full projection that includes the tenant is a no-op.
		snap.Tenants = append(snap.Tenants, "initech")
		project(t, st, snap)
		if rdb.HGet(ctx, "gr:{orders}:cfg", "_lease").Val() != "999" {
			t.Fatal("table rewritten although only a tenant was added")
		}
		if err := st.SetTenant(ctx, "orders", "initech", false); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Decide(ctx, router.Request{Tenant: "initech", Service: "orders"}, router.DecideOptions{}); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("removed tenant still routed: %v", err)
		}
		// A table missing a tenant that the database has is repaired.
		project(t, st, snap)
		if d := decide(t, st, router.Request{Tenant: "initech"}); d.Reason != "default" {
			t.Fatalf("resync did not restore the tenant: %+v", d)
		}
	})
}
