package storetest

import (
	"testing"

	"github.com/greyrouter/greyrouter/router"
)

func testRegistryRefs(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a registry reference reads back per service and source, 0 when none", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error {
			if err := tx.PutService(t.Context(), service("orders")); err != nil {
				return err
			}
			if err := tx.PutService(t.Context(), service("billing")); err != nil {
				return err
			}
			if err := tx.PutRegistryRef(t.Context(), "orders", router.SourceRegistry, 41, at(1)); err != nil {
				return err
			}
			return tx.PutRegistryRef(t.Context(), "orders", router.SourceRegistry, 42, at(2))
		})
		write(t, s, func(tx router.Tx) error {
			for svc, want := range map[string]int64{"orders": 42, "billing": 0} {
				got, err := tx.RegistryRef(t.Context(), svc, router.SourceRegistry)
				must(t, err, "read registry reference")
				if got != want {
					t.Errorf("registry reference of %s = %d, want %d", svc, got, want)
				}
			}
			got, err := tx.RegistryRef(t.Context(), "orders", router.SourceAPI)
			must(t, err, "read registry reference")
			if got != 0 {
				t.Errorf("reference of another source = %d, want 0", got)
			}
			return nil
		})
	})
	t.Run("deleting a service deletes its registry references", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error {
			if err := tx.PutService(t.Context(), service("orders")); err != nil {
				return err
			}
			return tx.PutRegistryRef(t.Context(), "orders", router.SourceRegistry, 7, at(1))
		})
		write(t, s, func(tx router.Tx) error { return tx.DeleteService(t.Context(), "orders") })
		write(t, s, func(tx router.Tx) error {
			if err := tx.PutService(t.Context(), service("orders")); err != nil {
				return err
			}
			got, err := tx.RegistryRef(t.Context(), "orders", router.SourceRegistry)
			must(t, err, "read registry reference")
			if got != 0 {
				t.Errorf("a recreated service inherited registry reference %d", got)
			}
			return nil
		})
	})
}
