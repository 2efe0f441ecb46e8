package storetest

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func instance(svc, id string) router.Instance {
	return router.Instance{
		ID: id, Service: svc, Version: "v1", Address: "10.0.0.7:8080", Weight: 250,
		Metadata: map[string]string{"zone": "eu-west-1a", "build": "2026.11.22"},
		Enabled:  true, Source: router.SourceRegistry, HeartbeatSeconds: 15,
		LastHeartbeat: at(7), CreatedAt: at(8), UpdatedAt: at(9),
	}
}

func testInstances(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("an instance reads back with its metadata, heartbeat and drain time", func(t *testing.T) {
		s := open(t)
		want := instance("orders", "i-1")
		want.Draining, want.DrainingSince = true, at(10)
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), want) })
		got, err := s.GetInstance(t.Context(), "orders", "i-1")
		must(t, err, "get instance")
		same(t, "instance", got, want, normInstance)
	})
	t.Run("an instance without metadata or heartbeat reads back without them", func(t *testing.T) {
		s := open(t)
		want := instance("orders", "i-1")
		want.Metadata, want.LastHeartbeat, want.Enabled = map[string]string{}, time.Time{}, false
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), want) })
		got, err := s.GetInstance(t.Context(), "orders", "i-1")
		must(t, err, "get instance")
		same(t, "instance", got, want, normInstance)
		if !got.LastHeartbeat.IsZero() || len(got.Metadata) != 0 || !got.DrainingSince.IsZero() {
			t.Errorf("got heartbeat %v, metadata %v and drain time %v, want none", got.LastHeartbeat, got.Metadata, got.DrainingSince)
		}
	})
	t.Run("putting an instance again replaces it", func(t *testing.T) {
		s := open(t)
		second := instance("orders", "i-1")
		second.Version, second.Address, second.Metadata = "v2", "10.0.0.8:9090", map[string]string{"k": "v"}
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), instance("orders", "i-1")) })
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), second) })
		got, err := s.GetInstance(t.Context(), "orders", "i-1")
		must(t, err, "get instance")
		same(t, "instance", got, second, normInstance)
	})
	t.Run("an instance put again without a drain time loses it", func(t *testing.T) {
		s := open(t)
		draining := instance("orders", "i-1")
		draining.Draining, draining.DrainingSince = true, at(10)
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), draining) })
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), instance("orders", "i-1")) })
		got, err := s.GetInstance(t.Context(), "orders", "i-1")
		must(t, err, "get instance")
		same(t, "instance", got, instance("orders", "i-1"), normInstance)
	})
	t.Run("instances are listed by id for their service only", func(t *testing.T) {
		s := open(t)
		want := []router.Instance{instance("orders", "a"), instance("orders", "b"), instance("orders", "c")}
		write(t, s, func(tx router.Tx) error {
			for _, in := range []router.Instance{want[1], instance("payments", "a"), want[2], want[0]} {
				if err := tx.PutInstance(t.Context(), in); err != nil {
					return err
				}
			}
			return nil
		})
		got, err := s.ListInstances(t.Context(), "orders")
		must(t, err, "list instances")
		sameList(t, "instances of orders", got, want, normInstance)
	})
	t.Run("a missing instance is not found", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), instance("orders", "i-1")) })
		_, err := s.GetInstance(t.Context(), "payments", "i-1")
		wantCode(t, err, apperr.NotFound, "get instance under another service")
	})
	t.Run("a deleted instance is gone and cannot be deleted again", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), instance("orders", "i-1")) })
		write(t, s, func(tx router.Tx) error { return tx.DeleteInstance(t.Context(), "orders", "i-1") })
		_, err := s.GetInstance(t.Context(), "orders", "i-1")
		wantCode(t, err, apperr.NotFound, "get deleted instance")
		err = s.InTx(t.Context(), func(tx router.Tx) error { return tx.DeleteInstance(t.Context(), "orders", "i-1") })
		wantCode(t, err, apperr.NotFound, "delete missing instance")
	})
	t.Run("touching an instance records its heartbeat and nothing else", func(t *testing.T) {
		s := open(t)
		want := instance("orders", "i-1")
		want.LastHeartbeat = time.Time{}
		write(t, s, func(tx router.Tx) error { return tx.PutInstance(t.Context(), want) })
		for _, beat := range []int{30, 31} {
			must(t, s.TouchInstance(t.Context(), "orders", "i-1", at(beat)), "touch instance")
			want.LastHeartbeat = at(beat)
			got, err := s.GetInstance(t.Context(), "orders", "i-1")
			must(t, err, "get instance")
			same(t, "touched instance", got, want, normInstance)
		}
		n, err := s.LatestRevision(t.Context())
		must(t, err, "latest revision")
		if n != 0 {
			t.Errorf("a heartbeat created revision %d; heartbeats are not revisioned", n)
		}
	})
	t.Run("touching a missing instance is not found", func(t *testing.T) {
		err := open(t).TouchInstance(t.Context(), "orders", "ghost", at(0))
		wantCode(t, err, apperr.NotFound, "touch missing instance")
	})
}
