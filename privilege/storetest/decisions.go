package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// decision returns a record of tenant at minutes after the suite's
// instant, with an id of its time.
func decision(tenant, subject, resource, action string, allowed bool, minutes int) privilege.DecisionRecord {
	ts := at(minutes)
	return privilege.DecisionRecord{
		ID: privilege.NewDecisionID(ts), At: ts, Tenant: tenant,
		Subject: subject, Resource: resource, Action: action, Allowed: allowed,
		Reason: fmt.Sprintf("%s %s %s", subject, action, resource), Tier: "engine", PolicyVersion: 1,
	}
}

// normDecision is a record as stores keep it.
func normDecision(d privilege.DecisionRecord) privilege.DecisionRecord {
	d.At = normTime(d.At)
	return d
}

// addDecisions stores records, failing the test on error.
func addDecisions(t *testing.T, s privilege.DecisionStore, ds ...privilege.DecisionRecord) {
	t.Helper()
	must(t, s.AddDecisions(t.Context(), ds), fmt.Sprintf("add %d decisions", len(ds)))
}

// listDecisions runs q, failing the test on error.
func listDecisions(t *testing.T, s privilege.DecisionStore, q privilege.DecisionQuery) []privilege.DecisionRecord {
	t.Helper()
	got, err := s.ListDecisions(t.Context(), q)
	must(t, err, fmt.Sprintf("list decisions %+v", q))
	return got
}

// ids returns the ids of records in their order.
func ids(ds []privilege.DecisionRecord) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// newestFirst returns the ids of the records keep selects, newest first.
func newestFirst(ds []privilege.DecisionRecord, keep func(privilege.DecisionRecord) bool) []string {
	var out []string
	for _, d := range ds {
		if keep(d) {
			out = append(out, d.ID)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func testDecisions(t *testing.T, open func(t *testing.T) privilege.Store) {
	openDecisions := func(t *testing.T) privilege.DecisionStore {
		s := open(t)
		ds, ok := s.(privilege.DecisionStore)
		if !ok {
			t.Skipf("%T does not keep the decision audit", s)
		}
		return ds
	}

	t.Run("a record round-trips with every field", func(t *testing.T) { testDecisionRoundTrip(t, openDecisions(t)) })
	t.Run("filters select exact matches and time ranges", func(t *testing.T) { testDecisionFilters(t, openDecisions(t)) })
	t.Run("pages go newest first without duplicates or gaps", func(t *testing.T) { testDecisionPaging(t, openDecisions(t)) })
	t.Run("a tenant never sees another's decisions", func(t *testing.T) { testDecisionIsolation(t, openDecisions(t)) })
	t.Run("pruning deletes exactly the records older than the cut", func(t *testing.T) { testDecisionPruning(t, openDecisions(t)) })
	t.Run("invalid queries and records are rejected", func(t *testing.T) { testDecisionValidation(t, openDecisions(t)) })
}

func testDecisionRoundTrip(t *testing.T, s privilege.DecisionStore) {
	full := decision("acme", "alice", "orders/1234", "refund", true, 0)
	full.FailOpen = true
	full.Reason = "allowed by rule owner of policy p1 (ünïcode)"
	full.Tier = "l2"
	full.PolicyVersion = 1 << 40
	full.Caller = "svc-gateway"
	full.Deciding = &privilege.Vote{
		Effect: privilege.Permit, Priority: 3, Source: "abac", RolePath: []string{"support-lead", "support"},
		Permission: "orders/*:refund", PolicyID: "p1", RuleID: "owner", Error: "resource.amount is missing",
		Until: at(90),
	}
	full.SubjectAttributes = map[string]any{"department": "sales", "clearance": 3.0, "groups": []any{"a", "b"}, "admin": false}
	full.ResourceAttributes = map[string]any{"owner": "alice", "amount": 1000.5, "meta": map[string]any{"region": "eu"}}
	full.Env = map[string]any{"ip": "10.0.0.7", "time": at(0).Format(time.RFC3339Nano)}
	bare := decision("acme", "bob", "orders", "read", false, 1)
	bare.Reason, bare.Tier, bare.PolicyVersion = "denied by default: no role permission or policy rule applies", "engine", 0

	addDecisions(t, s, full, bare)
	got := listDecisions(t, s, privilege.DecisionQuery{Tenant: "acme"})
	sameJSON(t, "stored records, newest first", got, []privilege.DecisionRecord{normDecision(bare), normDecision(full)})
	if len(got) == 2 {
		if got[1].At.Location() != time.UTC {
			t.Errorf("at = %v, want UTC", got[1].At)
		}
		if got[0].Deciding != nil || got[0].SubjectAttributes != nil || got[0].ResourceAttributes != nil || got[0].Env != nil {
			t.Errorf("a record without a deciding vote or attributes came back with some: %+v", got[0])
		}
	}

	t.Run("a record without an id or a time gets both", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		anon := decision("acme", "carol", "orders", "read", true, 0)
		anon.ID, anon.At = "", time.Time{}
		addDecisions(t, s, anon)
		got := listDecisions(t, s, privilege.DecisionQuery{Tenant: "acme", Subject: "carol"})
		if len(got) != 1 || !privilege.ValidDecisionID(got[0].ID) || got[0].At.Before(before) || got[0].At.After(time.Now().Add(time.Second)) {
			t.Fatalf("stored %+v, want one record with a decision id and the current time", got)
		}
	})
	t.Run("adding a batch again stores it once", func(t *testing.T) {
		addDecisions(t, s, full, bare)
		if n := len(listDecisions(t, s, privilege.DecisionQuery{Tenant: "acme", Subject: "alice"})); n != 1 {
			t.Errorf("alice has %d records after her batch was added twice, want 1", n)
		}
	})
	t.Run("adding nothing succeeds", func(t *testing.T) {
		must(t, s.AddDecisions(t.Context(), nil), "add no decisions")
	})
}

func testDecisionFilters(t *testing.T, s privilege.DecisionStore) {
	var all []privilege.DecisionRecord
	subjects, resources, actions := []string{"alice", "bob"}, []string{"orders/1", "orders/2", "invoices/1"}, []string{"read", "refund"}
	for i := range 24 {
		all = append(all, decision("acme", subjects[i%2], resources[i%3], actions[(i/2)%2], i%4 != 0, i))
	}
	addDecisions(t, s, all...)
	yes, no := true, false
	for _, c := range []struct {
		name string
		q    privilege.DecisionQuery
		keep func(privilege.DecisionRecord) bool
	}{
		{"no filter selects the tenant's whole trail", privilege.DecisionQuery{}, func(privilege.DecisionRecord) bool { return true }},
		{"by subject", privilege.DecisionQuery{Subject: "bob"}, func(d privilege.DecisionRecord) bool { return d.Subject == "bob" }},
		{"by resource, exactly", privilege.DecisionQuery{Resource: "orders/1"}, func(d privilege.DecisionRecord) bool { return d.Resource == "orders/1" }},
		{"by action", privilege.DecisionQuery{Action: "refund"}, func(d privilege.DecisionRecord) bool { return d.Action == "refund" }},
		{"allowed only", privilege.DecisionQuery{Allowed: &yes}, func(d privilege.DecisionRecord) bool { return d.Allowed }},
		{"denied only", privilege.DecisionQuery{Allowed: &no}, func(d privilege.DecisionRecord) bool { return !d.Allowed }},
		{"since includes its instant", privilege.DecisionQuery{Since: at(20)}, func(d privilege.DecisionRecord) bool { return !d.At.Before(at(20)) }},
		{"until excludes its instant", privilege.DecisionQuery{Until: at(3)}, func(d privilege.DecisionRecord) bool { return d.At.Before(at(3)) }},
		{"since and until together", privilege.DecisionQuery{Since: at(5), Until: at(9)}, func(d privilege.DecisionRecord) bool {
			return !d.At.Before(at(5)) && d.At.Before(at(9))
		}},
		{"every filter at once", privilege.DecisionQuery{Subject: "alice", Resource: "orders/2", Action: "read", Allowed: &yes, Since: at(1)},
			func(d privilege.DecisionRecord) bool {
				return d.Subject == "alice" && d.Resource == "orders/2" && d.Action == "read" && d.Allowed && !d.At.Before(at(1))
			}},
		{"a subject that never asked selects nothing", privilege.DecisionQuery{Subject: "mallory"}, func(privilege.DecisionRecord) bool { return false }},
		{"a resource's prefix is not a match", privilege.DecisionQuery{Resource: "orders"}, func(privilege.DecisionRecord) bool { return false }},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			q.Tenant = "acme"
			want := newestFirst(all, c.keep)
			if got := ids(listDecisions(t, s, q)); !slices.Equal(got, want) {
				t.Errorf("ids = %q\nwant %q", got, want)
			}
		})
	}
}

func testDecisionPaging(t *testing.T, s privilege.DecisionStore) {
	var all []privilege.DecisionRecord
	for i := range 23 {
		all = append(all, decision("acme", "alice", "orders/1", "read", true, i/3)) // three per instant
	}
	addDecisions(t, s, all...)
	want := newestFirst(all, func(privilege.DecisionRecord) bool { return true })

	var got []string
	q := privilege.DecisionQuery{Tenant: "acme", Subject: "alice", Limit: 5}
	for page := 0; ; page++ {
		if page > len(all) {
			t.Fatalf("paging did not end after %d pages", page)
		}
		ds := listDecisions(t, s, q)
		if len(ds) > 5 {
			t.Fatalf("page %d has %d records, want at most the limit 5", page, len(ds))
		}
		if len(ds) == 0 {
			break
		}
		got = append(got, ids(ds)...)
		q.Before = ds[len(ds)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of 5 gave\n %q\nwant every record once, newest first\n %q", got, want)
	}

	t.Run("without a limit a page holds 100", func(t *testing.T) {
		var more []privilege.DecisionRecord
		for i := range 120 {
			more = append(more, decision("acme", "bob", "orders/1", "read", true, i))
		}
		addDecisions(t, s, more...)
		if n := len(listDecisions(t, s, privilege.DecisionQuery{Tenant: "acme", Subject: "bob"})); n != privilege.DefaultDecisionLimit {
			t.Errorf("a page without a limit holds %d records, want %d", n, privilege.DefaultDecisionLimit)
		}
	})
}

func testDecisionIsolation(t *testing.T, s privilege.DecisionStore) {
	// Both tenants use the same subjects, resources and actions.
	var acme, globex []privilege.DecisionRecord
	for i := range 6 {
		acme = append(acme, decision("acme", "alice", "orders/1", "read", i%2 == 0, 2*i))
		globex = append(globex, decision("globex", "alice", "orders/1", "read", i%2 == 0, 2*i+1))
	}
	addDecisions(t, s, append(slices.Clone(acme), globex...)...)
	yes := true
	for _, q := range []privilege.DecisionQuery{
		{},
		{Subject: "alice"},
		{Resource: "orders/1"},
		{Action: "read", Allowed: &yes},
		{Since: at(-60), Until: at(60)},
		{Before: privilege.NewDecisionID(at(60))},
		{Before: acme[3].ID}, // another tenant's id is just a point in time
	} {
		for _, c := range []struct {
			tenant string
			own    []privilege.DecisionRecord
		}{{"acme", acme}, {"globex", globex}} {
			q.Tenant = c.tenant
			got := listDecisions(t, s, q)
			for _, d := range got {
				if d.Tenant != c.tenant {
					t.Errorf("query %+v returned record %s of tenant %q", q, d.ID, d.Tenant)
				}
			}
			if len(got) == 0 {
				t.Errorf("query %+v returned none of the tenant's own records", q)
			}
		}
	}
	if got := listDecisions(t, s, privilege.DecisionQuery{Tenant: "initech"}); len(got) != 0 {
		t.Errorf("a tenant without decisions sees %d", len(got))
	}
}

func testDecisionPruning(t *testing.T, s privilege.DecisionStore) {
	var all []privilege.DecisionRecord
	for i := range 10 {
		all = append(all, decision("acme", "alice", "orders/1", "read", true, i), decision("globex", "gina", "orders/1", "read", false, i))
	}
	addDecisions(t, s, all...)
	n, err := s.PruneDecisions(t.Context(), at(4))
	must(t, err, "prune")
	if n != 8 {
		t.Errorf("pruned %d records, want the 8 of both tenants older than the cut", n)
	}
	for _, tenant := range []string{"acme", "globex"} {
		want := newestFirst(all, func(d privilege.DecisionRecord) bool { return d.Tenant == tenant && !d.At.Before(at(4)) })
		if got := ids(listDecisions(t, s, privilege.DecisionQuery{Tenant: tenant})); !slices.Equal(got, want) {
			t.Errorf("%s keeps %q, want the records from the cut on %q", tenant, got, want)
		}
	}
	n, err = s.PruneDecisions(t.Context(), at(4))
	must(t, err, "prune again")
	if n != 0 {
		t.Errorf("pruning again deleted %d records, want 0", n)
	}

	t.Run("pruning a large backlog deletes all of it", func(t *testing.T) {
		const old = 1_234 // more than a store is likely to delete in one statement
		backlog := make([]privilege.DecisionRecord, old)
		for i := range backlog {
			backlog[i] = decision("initech", "bot", "orders/1", "read", false, -100)
		}
		addDecisions(t, s, backlog...)
		n, err := s.PruneDecisions(t.Context(), at(0))
		must(t, err, "prune the backlog")
		if n != old {
			t.Errorf("pruned %d records, want %d", n, old)
		}
		if got := listDecisions(t, s, privilege.DecisionQuery{Tenant: "initech"}); len(got) != 0 {
			t.Errorf("%d records of the backlog are left", len(got))
		}
	})
}

func testDecisionValidation(t *testing.T, s privilege.DecisionStore) {
	for _, c := range []struct {
		name string
		q    privilege.DecisionQuery
	}{
		{"without a tenant", privilege.DecisionQuery{Subject: "alice"}},
		{"with a limit above 1000", privilege.DecisionQuery{Tenant: "acme", Limit: 1001}},
		{"with a negative limit", privilege.DecisionQuery{Tenant: "acme", Limit: -1}},
		{"with a cursor that is not a decision id", privilege.DecisionQuery{Tenant: "acme", Before: "' OR 1=1 --"}},
		{"with until before since", privilege.DecisionQuery{Tenant: "acme", Since: at(5), Until: at(1)}},
	} {
		t.Run("a query "+c.name, func(t *testing.T) {
			_, err := s.ListDecisions(t.Context(), c.q)
			wantCode(t, err, apperr.Unprocessable, "list")
		})
	}
	t.Run("a batch with one invalid record stores nothing", func(t *testing.T) {
		good := decision("acme", "alice", "orders/1", "read", true, 0)
		noTenant := decision("", "bob", "orders/1", "read", true, 1)
		badID := decision("acme", "carol", "orders/1", "read", true, 2)
		badID.ID = "not-an-id"
		err := s.AddDecisions(t.Context(), []privilege.DecisionRecord{good, noTenant, badID})
		wantCode(t, err, apperr.Unprocessable, "add")
		if d := apperr.DetailsOf(err); d["decisions[1].tenant"] == "" || d["decisions[2].id"] == "" {
			t.Errorf("details = %v, want one per bad field of each record", d)
		}
		if got := listDecisions(t, s, privilege.DecisionQuery{Tenant: "acme"}); len(got) != 0 {
			t.Errorf("the rejected batch left %d records", len(got))
		}
	})
}
