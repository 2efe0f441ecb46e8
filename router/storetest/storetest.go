package storetest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// Run runs the contract suite. open must return a new, empty, ready store
// for each call and release it when its test ends; subtests do not share
// stores, so they may run in any order.
func Run(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("tenants", func(t *testing.T) { testTenants(t, open) })
	t.Run("services", func(t *testing.T) { testServices(t, open) })
	t.Run("versions", func(t *testing.T) { testVersions(t, open) })
	t.Run("instances", func(t *testing.T) { testInstances(t, open) })
	t.Run("bindings", func(t *testing.T) { testBindings(t, open) })
	t.Run("revisions", func(t *testing.T) { testRevisions(t, open) })
	t.Run("transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("registry references", func(t *testing.T) { testRegistryRefs(t, open) })
}

// zone is a non-UTC zone with a half-hour offset, so that a store that
// ignores or mangles zones fails the round trips.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// at returns a timestamp with nanoseconds in zone, minutes after a fixed
// instant, so that each record gets distinct, sub-microsecond times.
func at(minutes int) time.Time {
	return time.Date(2026, 11, 22, 10, 0, 0, 123456789, zone).Add(time.Duration(minutes) * time.Minute)
}

// write runs fn in a transaction and fails the test if it does not commit.
func write(t *testing.T, s router.Store, fn func(tx router.Tx) error) {
	t.Helper()
	if err := s.InTx(t.Context(), fn); err != nil {
		t.Fatalf("transaction failed: %v", err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code apperr.Code, what string) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("%s: got error %v (code %s), want code %s", what, err, apperr.CodeOf(err), code)
	}
}

// must fails the test on an unexpected error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same compares a record read back with the one written, after norm has
// erased the differences stores are allowed.
func same[T any](t *testing.T, what string, got, want T, norm func(T) T) {
	t.Helper()
	g, w := norm(got), norm(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameList is same for lists, which must also agree in length and order.
func sameList[T any](t *testing.T, what string, got, want []T, norm func(T) T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		same(t, what, got[i], want[i], norm)
	}
}

// normTime is how precisely stores keep timestamps: UTC, microseconds.
func normTime(ts time.Time) time.Time { return ts.UTC().Truncate(time.Microsecond) }

func normTenant(tn router.Tenant) router.Tenant {
	tn.CreatedAt, tn.UpdatedAt = normTime(tn.CreatedAt), normTime(tn.UpdatedAt)
	return tn
}

func normService(s router.Service) router.Service {
	s.CreatedAt, s.UpdatedAt = normTime(s.CreatedAt), normTime(s.UpdatedAt)
	return s
}

func normVersion(v router.Version) router.Version {
	v.CreatedAt, v.UpdatedAt = normTime(v.CreatedAt), normTime(v.UpdatedAt)
	return v
}

func normInstance(in router.Instance) router.Instance {
	if len(in.Metadata) == 0 {
		in.Metadata = nil
	}
	in.LastHeartbeat, in.DrainingSince = normTime(in.LastHeartbeat), normTime(in.DrainingSince)
	in.CreatedAt, in.UpdatedAt = normTime(in.CreatedAt), normTime(in.UpdatedAt)
	return in
}

func normBinding(b router.Binding) router.Binding {
	if len(b.Rules) == 0 {
		b.Rules = nil
	}
	b.UpdatedAt = normTime(b.UpdatedAt)
	return b
}

func normRevision(r router.Revision) router.Revision {
	r.At = normTime(r.At)
	if len(r.Changes) == 0 {
		r.Changes = nil
	}
	changes := make([]router.Change, len(r.Changes))
	for i, c := range r.Changes {
		c.Before, c.After = canonJSON(c.Before), canonJSON(c.After)
		changes[i] = c
	}
	if r.Changes != nil {
		r.Changes = changes
	}
	return r
}

// canonJSON re-encodes a document so that key order and spacing do not
// matter; stores may keep JSON in a column type that reformats it.
func canonJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	out, _ := json.Marshal(v)
	return out
}
