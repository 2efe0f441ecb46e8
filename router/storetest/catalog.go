package storetest

import (
	"fmt"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func tenant(name string) router.Tenant {
	return router.Tenant{Name: name, DisplayName: "Tenant " + name, CreatedAt: at(1), UpdatedAt: at(2)}
}

func service(name string) router.Service {
	c := router.DefaultCircuitPolicy()
	c.ErrorRatePercent = 12.5
	c.ProbeTimeoutSeconds = 7
	return router.Service{
		Name: name, Description: "the " + name + " service", DefaultVersion: "v1",
		Strategy: router.WeightedRoundRobin, LeaseSeconds: 30, Circuit: c, WarmupSeconds: 45,
		CreatedAt: at(3), UpdatedAt: at(4),
	}
}

func version(svc, name string) router.Version {
	return router.Version{
		Service: svc, Name: name, State: router.VersionActive,
		Description: "version " + name, CreatedAt: at(5), UpdatedAt: at(6),
	}
}

func testTenants(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a tenant reads back as it was put", func(t *testing.T) {
		s := open(t)
		want := tenant("acme")
		write(t, s, func(tx router.Tx) error { return tx.PutTenant(t.Context(), want) })
		got, err := s.GetTenant(t.Context(), "acme")
		must(t, err, "get tenant")
		same(t, "tenant", got, want, normTenant)
	})
	t.Run("putting a tenant again replaces it", func(t *testing.T) {
		s := open(t)
		first, second := tenant("acme"), tenant("acme")
		second.DisplayName, second.CreatedAt, second.UpdatedAt = "", at(10), at(11)
		write(t, s, func(tx router.Tx) error { return tx.PutTenant(t.Context(), first) })
		write(t, s, func(tx router.Tx) error { return tx.PutTenant(t.Context(), second) })
		got, err := s.GetTenant(t.Context(), "acme")
		must(t, err, "get tenant")
		same(t, "tenant", got, second, normTenant)
	})
	t.Run("a missing tenant is not found", func(t *testing.T) {
		_, err := open(t).GetTenant(t.Context(), "nobody")
		wantCode(t, err, apperr.NotFound, "get missing tenant")
	})
	t.Run("a deleted tenant is gone and cannot be deleted again", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutTenant(t.Context(), tenant("acme")) })
		write(t, s, func(tx router.Tx) error { return tx.DeleteTenant(t.Context(), "acme") })
		_, err := s.GetTenant(t.Context(), "acme")
		wantCode(t, err, apperr.NotFound, "get deleted tenant")
		err = s.InTx(t.Context(), func(tx router.Tx) error { return tx.DeleteTenant(t.Context(), "acme") })
		wantCode(t, err, apperr.NotFound, "delete missing tenant")
	})
	t.Run("tenants are listed by name a page at a time", func(t *testing.T) {
		s := open(t)
		var all []router.Tenant
		for i := 1; i <= 5; i++ {
			all = append(all, tenant(fmt.Sprintf("t%02d", i)))
		}
		write(t, s, func(tx router.Tx) error {
			for _, i := range []int{4, 0, 3, 1, 2} { // not in name order
				if err := tx.PutTenant(t.Context(), all[i]); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			page router.Page
			want []router.Tenant
		}{
			{router.Page{}, all},
			{router.Page{Limit: 2}, all[:2]},
			{router.Page{After: "t02", Limit: 2}, all[2:4]},
			{router.Page{After: "t04", Limit: 2}, all[4:]},
			{router.Page{After: "t05"}, nil},
		} {
			got, err := s.ListTenants(t.Context(), c.page)
			must(t, err, "list tenants")
			sameList(t, fmt.Sprintf("tenants %+v", c.page), got, c.want, normTenant)
		}
	})
}

func testServices(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a service reads back with its circuit policy", func(t *testing.T) {
		s := open(t)
		want := service("orders")
		write(t, s, func(tx router.Tx) error { return tx.PutService(t.Context(), want) })
		got, err := s.GetService(t.Context(), "orders")
		must(t, err, "get service")
		same(t, "service", got, want, normService)
	})
	t.Run("putting a service again replaces it", func(t *testing.T) {
		s := open(t)
		second := service("orders")
		second.Strategy, second.DefaultVersion, second.Circuit = router.ConsistentHash, "", router.CircuitPolicy{}
		write(t, s, func(tx router.Tx) error { return tx.PutService(t.Context(), service("orders")) })
		write(t, s, func(tx router.Tx) error { return tx.PutService(t.Context(), second) })
		got, err := s.GetService(t.Context(), "orders")
		must(t, err, "get service")
		same(t, "service", got, second, normService)
	})
	t.Run("a missing service is not found", func(t *testing.T) {
		_, err := open(t).GetService(t.Context(), "nothing")
		wantCode(t, err, apperr.NotFound, "get missing service")
	})
	t.Run("a deleted service is gone and cannot be deleted again", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutService(t.Context(), service("orders")) })
		write(t, s, func(tx router.Tx) error { return tx.DeleteService(t.Context(), "orders") })
		_, err := s.GetService(t.Context(), "orders")
		wantCode(t, err, apperr.NotFound, "get deleted service")
		err = s.InTx(t.Context(), func(tx router.Tx) error { return tx.DeleteService(t.Context(), "orders") })
		wantCode(t, err, apperr.NotFound, "delete missing service")
	})
	t.Run("services are listed by name a page at a time", func(t *testing.T) {
		s := open(t)
		all := []router.Service{service("alpha"), service("bravo"), service("charlie")}
		write(t, s, func(tx router.Tx) error {
			for _, i := range []int{2, 0, 1} {
				if err := tx.PutService(t.Context(), all[i]); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			page router.Page
			want []router.Service
		}{
			{router.Page{}, all},
			{router.Page{Limit: 1}, all[:1]},
			{router.Page{After: "alpha", Limit: 5}, all[1:]},
			{router.Page{After: "charlie", Limit: 5}, nil},
		} {
			got, err := s.ListServices(t.Context(), c.page)
			must(t, err, "list services")
			sameList(t, fmt.Sprintf("services %+v", c.page), got, c.want, normService)
		}
	})
}
