package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

// event returns an audit event of tenant at at(minute) with every field
// set; Reason names the minute so that events can be told apart.
func event(tenant, userID, kind string, minute int) login.AuditEvent {
	return login.AuditEvent{
		Kind: kind, Reason: fmt.Sprintf("r%d", minute), Tenant: tenant,
		Username: "name-" + userID, UserID: userID, SessionID: fmt.Sprintf("%032x", minute),
		Actor: "admin-1", IP: "203.0.113.7", UserAgent: "test/1.0", At: at(minute),
	}
}

func addEvents(t *testing.T, s Store, es ...login.AuditEvent) {
	t.Helper()
	must(t, s.AddAuditEvents(t.Context(), es), fmt.Sprintf("add %d audit events", len(es)))
}

// listEvents lists the events q selects and checks that their ids are
// set, distinct and descending, as newest first requires.
func listEvents(t *testing.T, s Store, q login.AuditQuery) []login.AuditEvent {
	t.Helper()
	got, err := s.ListAuditEvents(t.Context(), q)
	must(t, err, fmt.Sprintf("list audit events %+v", q))
	if got == nil {
		t.Fatalf("audit events %+v = nil, want a non-nil list", q)
	}
	for i, e := range got {
		if e.ID == "" || i > 0 && e.ID >= got[i-1].ID {
			t.Fatalf("audit events %+v: id %d %q is empty or not below the one before", q, i, e.ID)
		}
	}
	return got
}

// eventsAre checks the events q selects, ignoring the store-assigned ids.
func eventsAre(t *testing.T, s Store, q login.AuditQuery, want ...login.AuditEvent) {
	t.Helper()
	got := listEvents(t, s, q)
	if len(got) != len(want) {
		t.Fatalf("audit events %+v: got %d %v, want %d %v", q, len(got), reasons(got), len(want), reasons(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		g.ID, w.ID = "", ""
		g.At, w.At = normTime(g.At), normTime(w.At)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("audit events %+v, event %d:\n got %+v\nwant %+v", q, i, g, w)
		}
	}
}

func reasons(es []login.AuditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Tenant + "/" + e.Reason
	}
	return out
}

func testAudit(t *testing.T, open func(t *testing.T) Store) {
	t.Run("events read back newest first with ids the store assigned", func(t *testing.T) {
		s := open(t)
		e1, e2, e3 := event("acme", "u1", "login_success", 1), event("acme", "u1", "logout", 2), event("acme", "u1", "login_failure", 3)
		e2.ID = "chosen-by-caller"
		addEvents(t, s, e1, e3)
		addEvents(t, s, e2)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme"}, e3, e2, e1)
		for _, e := range listEvents(t, s, login.AuditQuery{Tenant: "acme"}) {
			if e.ID == "chosen-by-caller" {
				t.Errorf("the store kept the caller's id %q", e.ID)
			}
			if e.At.Location() != time.UTC {
				t.Errorf("event time read back in %v, want UTC", e.At.Location())
			}
		}
	})
	t.Run("an event without a time is stamped with the current time", func(t *testing.T) {
		s := open(t)
		e := event("acme", "u1", "login_success", 0)
		e.At = time.Time{}
		before := time.Now().Add(-time.Second)
		addEvents(t, s, e)
		after := time.Now().Add(time.Second)
		got := listEvents(t, s, login.AuditQuery{Tenant: "acme"})
		if len(got) != 1 || got[0].At.Before(before) || got[0].At.After(after) {
			t.Fatalf("events = %+v, want one stamped between %v and %v", got, before, after)
		}
	})
	t.Run("events are filtered by user and by kind within the tenant", func(t *testing.T) {
		s := open(t)
		e1, e2, e3, e4 := event("acme", "u1", "login_success", 1), event("acme", "u2", "login_success", 2),
			event("acme", "u1", "logout", 3), event("globex", "u1", "login_success", 4)
		addEvents(t, s, e1, e2, e3, e4)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme", UserID: "u1"}, e3, e1)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme", Kind: "login_success"}, e2, e1)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme", UserID: "u1", Kind: "login_success"}, e1)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme", UserID: "u3"})
		eventsAre(t, s, login.AuditQuery{AllTenants: true, UserID: "u1", Kind: "login_success"}, e4, e1)
	})
	t.Run("a tenant sees only its own events and platform queries only platform events", func(t *testing.T) {
		s := open(t)
		acme, globex, platform := event("acme", "u1", "login_success", 1), event("globex", "u2", "login_success", 2), event("", "root", "signing_key_rotated", 3)
		addEvents(t, s, acme, globex, platform)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme"}, acme)
		eventsAre(t, s, login.AuditQuery{Tenant: "globex"}, globex)
		eventsAre(t, s, login.AuditQuery{}, platform)
		eventsAre(t, s, login.AuditQuery{Tenant: "acme", UserID: "u2"})
		eventsAre(t, s, login.AuditQuery{AllTenants: true}, platform, globex, acme)
		eventsAre(t, s, login.AuditQuery{Tenant: "initech"})
	})
	t.Run("events are listed a page at a time before an id", func(t *testing.T) {
		s := open(t)
		var all []login.AuditEvent // newest first
		for i := 5; i >= 1; i-- {
			all = append(all, event("acme", "u1", "login_success", i))
		}
		addEvents(t, s, event("globex", "u1", "login_success", 0))
		addEvents(t, s, all...)
		q := login.AuditQuery{Tenant: "acme", Limit: 2}
		var pages [][]login.AuditEvent
		for range 4 {
			page := listEvents(t, s, q)
			pages = append(pages, page)
			if len(page) == 0 {
				break
			}
			q.Before = page[len(page)-1].ID
		}
		sizes := make([]int, len(pages))
		var got []login.AuditEvent
		for i, p := range pages {
			sizes[i] = len(p)
			got = append(got, p...)
		}
		if !slices.Equal(sizes, []int{2, 2, 1, 0}) {
			t.Fatalf("page sizes = %v, want [2 2 1 0]", sizes)
		}
		if !slices.Equal(reasons(got), reasons(all)) {
			t.Errorf("pages hold %v, want %v", reasons(got), reasons(all))
		}
	})
	t.Run("events of one instant get distinct ids and many events are stored at once", func(t *testing.T) {
		s := open(t)
		es := make([]login.AuditEvent, 600)
		for i := range es {
			es[i] = event("acme", "u1", "login_success", 1)
		}
		addEvents(t, s, es...)
		if got := listEvents(t, s, login.AuditQuery{Tenant: "acme"}); len(got) != len(es) {
			t.Fatalf("listed %d events, want %d", len(got), len(es))
		}
	})
	t.Run("adding no events is fine", func(t *testing.T) {
		s := open(t)
		addEvents(t, s)
		eventsAre(t, s, login.AuditQuery{AllTenants: true})
	})
}
