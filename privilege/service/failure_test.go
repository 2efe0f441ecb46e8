package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

// TestOutagesAnswerFromCacheThenFailClosedOrOpen takes the database and
// Redis away from a replica: while the versions were confirmed within
// MaxStaleness it answers from its caches (and from its compiled set,
// marked stale, when it knows a newer version it cannot load); past it,
// it denies — except in the tenant that opted in to fail open, where it
// allows and audits each such decision as a fail-open.
func TestOutagesAnswerFromCacheThenFailClosedOrOpen(t *testing.T) {
	redisServer := testutil.Redis(t)
	rdb := redisServer.Client(t)
	db := testutil.MigratedDB(t, "")
	store := sqlstore.New(db.Gorm)
	auditStore := sqlstore.New(testutil.MigratedDB(t, "").Gorm) // survives the outage
	const maxStale = 1500 * time.Millisecond
	s := newService(t, store, rdb, service.Options{Audit: auditStore, MaxStaleness: maxStale, PollInterval: 50 * time.Millisecond})
	writer := newService(t, store, rdb, service.Options{})

	for _, tenant := range []string{"closed", "open"} {
		grant(t, writer, tenant, "alice", time.Time{})
	}
	_, err := writer.Write(t.Context(), "open", "test", "", func(tx privilege.Tx) error {
		return tx.PutSettings(context.Background(), privilege.Settings{FailOpen: true})
	})
	must(t, err, "settings")
	alice := func(tenant string) privilege.Request { return req(tenant, "alice", "read", "orders/1") }
	for _, tenant := range []string{"closed", "open"} {
		if d := check(t, s, alice(tenant), service.CheckOptions{}); !d.Allowed {
			t.Fatalf("%s before the outage: %+v", tenant, d)
		}
	}
	// A change s hears of but has not loaded when the outage starts.
	tok := grant(t, writer, "closed", "bob", time.Time{})
	eventually(t, 2*time.Second, "s hears of the change", func() bool { return s.KnownVersion("closed") == tok.Version })

	redisServer.Stop(t)
	must(t, db.Close(), "close the database")

	if d := check(t, s, alice("open"), service.CheckOptions{}); !d.Allowed || d.Tier != service.TierL1 {
		t.Fatalf("cached answer during the outage: %+v", d)
	}
	if d := check(t, s, req("open", "carol", "read", "orders/1"), service.CheckOptions{}); d.Allowed || d.Tier != service.TierEngine {
		t.Fatalf("new request on a current compiled set during the outage: %+v", d)
	}
	d := check(t, s, alice("closed"), service.CheckOptions{})
	if !d.Allowed || d.Tier != service.TierStale || d.PolicyVersion != tok.Version-1 {
		t.Fatalf("compiled set older than the known version, store unreachable: %+v", d)
	}
	if d := check(t, s, req("closed", "bob", "read", "orders/1"), service.CheckOptions{AtLeast: &tok}); d.Allowed || d.Tier != service.TierFailClosed {
		t.Fatalf("a token the cache cannot honour: %+v", d)
	}
	if d := check(t, s, alice("never-seen"), service.CheckOptions{}); d.Allowed || d.Tier != service.TierFailClosed {
		t.Fatalf("a tenant never loaded: %+v", d)
	}

	// Past MaxStaleness since the last confirmed poll, which may have
	// finished just after the outage began (a poll in flight when the
	// database closed) on a loaded machine: wait for it, not a fixed time.
	eventually(t, maxStale+10*time.Second, "the versions go unconfirmed past MaxStaleness", func() bool {
		return s.Staleness() > maxStale+50*time.Millisecond
	})
	if d := check(t, s, alice("closed"), service.CheckOptions{}); d.Allowed || d.Tier != service.TierFailClosed {
		t.Fatalf("past MaxStaleness, fail-closed tenant: %+v", d)
	}
	d = check(t, s, alice("open"), service.CheckOptions{})
	if !d.Allowed || d.Tier != service.TierFailOpen || d.ID == "" {
		t.Fatalf("past MaxStaleness, fail-open tenant: %+v", d)
	}
	must(t, s.FlushAudit(t.Context()), "flush audit")
	recs, err := auditStore.ListDecisions(t.Context(), privilege.DecisionQuery{Tenant: "open"})
	must(t, err, "list decisions")
	found := false
	for _, r := range recs {
		if r.ID == d.ID {
			found = r.FailOpen && r.Allowed && r.Tier == service.TierFailOpen && r.Subject == "alice"
		}
	}
	if !found {
		t.Fatalf("fail-open decision %s not audited as such: %+v", d.ID, recs)
	}
}

// TestDecisionAuditRecordsDeniesAlwaysAndSamplesAllowed checks the audit
// rules: every deny is recorded with its reason and caller, allowed
// decisions only at the tenant's sample rate.
func TestDecisionAuditRecordsDeniesAlwaysAndSamplesAllowed(t *testing.T) {
	store := sqliteStore(t)
	audit := store.(privilege.DecisionStore)
	s := newService(t, store, nil, service.Options{Audit: audit})
	grant(t, s, "acme", "alice", time.Time{})
	grant(t, s, "sampled", "alice", time.Time{})
	_, err := s.Write(t.Context(), "sampled", "test", "", func(tx privilege.Tx) error {
		return tx.PutSettings(context.Background(), privilege.Settings{AuditSampleRate: 1})
	})
	must(t, err, "settings")
	for range 3 {
		if d := check(t, s, req("acme", "alice", "read", "orders/1"), service.CheckOptions{Caller: "client:svc"}); !d.Allowed || d.ID != "" {
			t.Fatalf("allowed, unsampled: %+v", d)
		}
	}
	deny := check(t, s, req("acme", "mallory", "read", "orders/1"), service.CheckOptions{Caller: "client:svc"})
	if deny.Allowed || deny.ID == "" {
		t.Fatalf("deny: %+v", deny)
	}
	sampled := check(t, s, req("sampled", "alice", "read", "orders/1"), service.CheckOptions{})
	if !sampled.Allowed || sampled.ID == "" {
		t.Fatalf("allowed at sample rate 1: %+v", sampled)
	}
	must(t, s.FlushAudit(t.Context()), "flush")
	recs, err := s.Decisions(t.Context(), privilege.DecisionQuery{Tenant: "acme"})
	must(t, err, "decisions")
	if len(recs) != 1 || recs[0].ID != deny.ID || recs[0].Allowed || recs[0].Caller != "client:svc" || recs[0].Reason != deny.Reason {
		t.Fatalf("acme audit %+v", recs)
	}
	recs, err = s.Decisions(t.Context(), privilege.DecisionQuery{Tenant: "sampled"})
	must(t, err, "decisions")
	if len(recs) != 1 || recs[0].ID != sampled.ID || !recs[0].Allowed {
		t.Fatalf("sampled audit %+v", recs)
	}
}
