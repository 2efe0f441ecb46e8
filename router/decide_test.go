package router_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func TestBucketIsStableAndInRange(t *testing.T) {
	// Golden values, cross-checked with an independent SHA-1
	// (python3 hashlib): any change here reshuffles every user of every
	// canary and breaks agreement with decide.lua and SDK deciders.
	b, err := os.ReadFile(filepath.Join("testdata", "buckets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Salt, Tenant, Key string
		Bucket            int
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 5 {
		t.Fatalf("golden file has %d cases", len(cases))
	}
	for _, c := range cases {
		if got := router.Bucket(c.Salt, c.Tenant, c.Key); got != c.Bucket {
			t.Errorf("Bucket(%q,%q,%q) = %d, golden %d", c.Salt, c.Tenant, c.Key, got, c.Bucket)
		}
	}
	seen := map[int]bool{}
	for i := range 20000 {
		v := router.Bucket("salt", "t", fmt.Sprint(i))
		if v < 0 || v >= router.Buckets {
			t.Fatalf("bucket %d out of range", v)
		}
		seen[v/100] = true
	}
	if len(seen) != 100 {
		t.Fatalf("20000 keys hit only %d of 100 bucket ranges", len(seen))
	}
}

func TestRaisingThePercentageOnlyMovesUsersToTheCandidate(t *testing.T) {
	b := router.Binding{Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Salt: "x", Sticky: "key"}
	svc := router.Service{DefaultVersion: "v1"}
	at := func(p router.Percent, key string) string {
		b.Percent = p
		vc, err := router.ChooseVersion(&svc, &b, &router.Request{Tenant: "acme", Key: key}, 0, router.LaneAbsent)
		if err != nil {
			t.Fatal(err)
		}
		return vc.Version
	}
	moved, candidates10 := 0, 0
	for i := range 10000 {
		key := fmt.Sprintf("user-%d", i)
		v10, v20 := at(1000, key), at(2000, key)
		if v10 == "v2" {
			candidates10++
			if v20 != "v2" {
				t.Fatalf("%s was on the candidate at 10%% and moved back at 20%%", key)
			}
		}
		if v10 == "v1" && v20 == "v2" {
			moved++
		}
	}
	if candidates10 < 900 || candidates10 > 1100 {
		t.Fatalf("10%% split put %d of 10000 users on the candidate", candidates10)
	}
	if moved < 900 || moved > 1100 {
		t.Fatalf("10%% -> 20%% moved %d users, want about 1000", moved)
	}
}

func TestChooseVersion(t *testing.T) {
	svc := router.Service{DefaultVersion: "v1"}
	rules := []router.Rule{
		{Priority: 1, Version: "v3", When: []router.Condition{{Source: "header", Name: "x-lane", Op: "equals", Values: []string{"v3"}}}},
		{Priority: 2, Version: "v2", When: []router.Condition{
			{Source: "attribute", Name: "beta", Op: "in", Values: []string{"true", "yes"}},
			{Source: "attribute", Name: "user", Op: "prefix", Values: []string{"qa-"}},
		}},
	}
	tests := []struct {
		name    string
		binding *router.Binding
		req     router.Request
		version string
		reason  string
	}{
		{"no binding falls to the service default", nil, router.Request{}, "v1", "default"},
		{"a pin wins when no rule matches", &router.Binding{Mode: router.ModePin, Version: "v2"}, router.Request{}, "v2", "pin"},
		{"a header rule beats the pin", &router.Binding{Mode: router.ModePin, Version: "v2", Rules: rules},
			router.Request{Headers: map[string]string{"x-lane": "v3"}}, "v3", "rule"},
		{"a rule needs all of its conditions", &router.Binding{Mode: router.ModePin, Version: "v1", Rules: rules},
			router.Request{Attributes: map[string]string{"beta": "true", "user": "bob"}}, "v1", "pin"},
		{"in and prefix match together", &router.Binding{Mode: router.ModePin, Version: "v1", Rules: rules},
			router.Request{Attributes: map[string]string{"beta": "yes", "user": "qa-7"}}, "v2", "rule"},
		{"a missing header never matches", &router.Binding{Mode: router.ModeDefault, Rules: rules}, router.Request{}, "v1", "default"},
		{"a 100% split sends everyone to the candidate", &router.Binding{Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 10000, Salt: "s"},
			router.Request{Key: "k"}, "v2", "split_candidate"},
		{"a 0% split sends nobody", &router.Binding{Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 0, Salt: "s"},
			router.Request{Key: "k"}, "v1", "split_baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := router.ChooseVersion(&svc, tt.binding, &tt.req, 0.5, router.LaneAbsent)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.version || got.Reason != tt.reason {
				t.Fatalf("got %s/%s, want %s/%s", got.Version, got.Reason, tt.version, tt.reason)
			}
		})
	}
}

func TestSmoothWRRIsExactAndInterleaved(t *testing.T) {
	weights := []int{5, 1, 1}
	cur := make([]int, 3)
	var seq []int
	for range 7 {
		seq = append(seq, router.SmoothWRR(weights, cur))
	}
	// nginx's documented sequence for {5,1,1}: a a b a c a a.
	if fmt.Sprint(seq) != fmt.Sprint([]int{0, 0, 1, 0, 2, 0, 0}) {
		t.Fatalf("sequence %v", seq)
	}
	weights, cur = []int{5, 3, 2}, make([]int, 3)
	counts := make([]int, 3)
	for range 1000 {
		counts[router.SmoothWRR(weights, cur)]++
	}
	if fmt.Sprint(counts) != "[500 300 200]" {
		t.Fatalf("counts %v", counts)
	}
}

func TestHashScoreMovesFewKeysWhenAnInstanceJoins(t *testing.T) {
	owner := func(ids []string, key string) string {
		best, bestS := "", 0.0
		for _, id := range ids {
			if s := router.HashScore(key, id, 1); best == "" || s > bestS {
				best, bestS = id, s
			}
		}
		return best
	}
	before, after := []string{"a", "b", "c"}, []string{"a", "b", "c", "d"}
	moved := 0
	for i := range 4000 {
		k := fmt.Sprint(i)
		o1, o2 := owner(before, k), owner(after, k)
		if o1 != o2 {
			if o2 != "d" {
				t.Fatalf("key %s moved from %s to %s, not to the new instance", k, o1, o2)
			}
			moved++
		}
	}
	if moved < 800 || moved > 1200 {
		t.Fatalf("%d of 4000 keys moved, want about 1000", moved)
	}
}

func TestWRRSequence(t *testing.T) {
	seq := router.WRRSequence([]int{500, 300, 200}, router.MaxWRRSequence)
	if fmt.Sprint(seq) != "[0 1 2 0 0 1 0 2 1 0]" {
		t.Fatalf("5:3:2 cycle %v", seq)
	}
	// Too long a cycle is scaled down but keeps every instance.
	long := router.WRRSequence([]int{9973, 1, 7919}, 100)
	if len(long) > 100 {
		t.Fatalf("cycle of %d exceeds the bound", len(long))
	}
	counts := map[int]int{}
	for _, i := range long {
		counts[i]++
	}
	if counts[1] < 1 || counts[0] <= counts[2] {
		t.Fatalf("scaled counts %v", counts)
	}
}

func TestLanes(t *testing.T) {
	svc := router.Service{Name: "billing", DefaultVersion: "v1"}
	pin3 := func(mode router.LaneMode) *router.Binding {
		return &router.Binding{Mode: router.ModePin, Version: "v3", LaneMode: mode,
			Rules: []router.Rule{{Version: "v4", When: []router.Condition{{Source: "header", Name: "x-beta", Op: "equals", Values: []string{"1"}}}}}}
	}
	split := &router.Binding{Mode: router.ModeSplit, Baseline: "v1", Candidate: "v5", Percent: 10000, Salt: "s"}
	cases := []struct {
		name       string
		b          *router.Binding
		lane       string
		supply     router.LaneSupply
		beta       bool
		version    string
		reason     string
		laneAfter  string
		failsNoWay bool
	}{
		{"a request without a lane follows the binding and enters the pinned version's lane", pin3(""), "", router.LaneAbsent, false, "v3", "pin", "v3", false},
		{"a request sent to the default version stays in the baseline", nil, "", router.LaneAbsent, false, "v1", "default", "", false},
		{"a split's candidate is a lane", split, "", router.LaneAbsent, false, "v5", "split_candidate", "v5", false},
		{"a lane the service has wins over the pin", pin3(""), "v2", router.LaneUp, false, "v2", "lane", "v2", false},
		{"a lane the service has wins over a matching rule", pin3(router.LaneStrict), "v2", router.LaneUp, true, "v2", "lane", "v2", false},
		{"a lane wins over a split", split, "v2", router.LaneUp, false, "v2", "lane", "v2", false},
		{"a lane applies to tenants without a binding", nil, "v2", router.LaneUp, false, "v2", "lane", "v2", false},
		{"permissive: a missing lane falls back to the binding and the lane travels on", pin3(router.LanePermissive), "v9", router.LaneAbsent, false, "v3", "pin", "v9", false},
		{"permissive by default", pin3(""), "v9", router.LaneAbsent, true, "v4", "rule", "v9", false},
		{"without a binding a missing lane falls back to the default", nil, "v9", router.LaneAbsent, false, "v1", "default", "v9", false},
		{"permissive: a lane whose version has no usable instance falls back", pin3(""), "v2", router.LaneDown, false, "v3", "pin", "v2", false},
		{"strict: a lane whose version has no usable instance is chosen, for the instance step to fail", pin3(router.LaneStrict), "v2", router.LaneDown, false, "v2", "lane", "v2", false},
		{"strict: a missing lane fails the decision", pin3(router.LaneStrict), "v9", router.LaneAbsent, false, "", "", "", true},
		{"ignore: the lane is not followed even when it exists, but travels on", pin3(router.LaneIgnore), "v2", router.LaneUp, false, "v3", "pin", "v2", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := router.Request{Tenant: "acme", Service: "billing", Key: "u1", Lane: c.lane, Headers: map[string]string{}}
			if c.beta {
				req.Headers["x-beta"] = "1"
			}
			vc, err := router.ChooseVersion(&svc, c.b, &req, 0, c.supply)
			if c.failsNoWay {
				if !errors.Is(err, router.ErrNoLane) || !apperr.Is(err, apperr.NotFound) || !strings.Contains(err.Error(), `"v9"`) {
					t.Fatalf("err = %v, want a not-found error naming lane v9", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if vc.Version != c.version || vc.Reason != c.reason || vc.Lane != c.laneAfter {
				t.Fatalf("got %s/%s lane %q, want %s/%s lane %q", vc.Version, vc.Reason, vc.Lane, c.version, c.reason, c.laneAfter)
			}
		})
	}
}
