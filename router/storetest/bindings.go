package storetest

import (
	"fmt"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func binding(tenant, svc string) router.Binding {
	return router.Binding{
		Tenant: tenant, Service: svc, Mode: router.ModeSplit,
		Baseline: "v1", Candidate: "v2", Percent: 1250, Sticky: "header:x-user-id", Salt: "s4lt-" + tenant,
		Rules: []router.Rule{
			{Priority: 10, Version: "v2", When: []router.Condition{
				{Source: "header", Name: "x-beta", Op: "equals", Values: []string{"true"}},
				{Source: "attribute", Name: "country", Op: "in", Values: []string{"de", "fr", "nl"}},
			}},
			{Priority: 20, Version: "v1", When: []router.Condition{
				{Source: "attribute", Name: "user", Op: "prefix", Values: []string{"qa-"}},
			}},
		},
		LaneMode:  router.LaneStrict,
		UpdatedAt: at(12),
	}
}

func testBindings(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a split binding reads back with its rules and percentage", func(t *testing.T) {
		s := open(t)
		want := binding("acme", "orders")
		write(t, s, func(tx router.Tx) error { return tx.PutBinding(t.Context(), want) })
		got, err := s.GetBinding(t.Context(), "acme", "orders")
		must(t, err, "get binding")
		same(t, "binding", got, want, normBinding)
		if got.Percent.BasisPoints() != 1250 {
			t.Errorf("percent = %d basis points, want 1250", got.Percent.BasisPoints())
		}
	})
	t.Run("percentages keep every basis point", func(t *testing.T) {
		s := open(t)
		for _, bp := range []router.Percent{0, 1, 9999, 10000} {
			want := binding("acme", "orders")
			want.Percent = bp
			write(t, s, func(tx router.Tx) error { return tx.PutBinding(t.Context(), want) })
			got, err := s.GetBinding(t.Context(), "acme", "orders")
			must(t, err, "get binding")
			if got.Percent != bp {
				t.Errorf("percent %d basis points read back as %d", bp, got.Percent)
			}
		}
	})
	t.Run("a pinned binding without rules reads back without rules", func(t *testing.T) {
		s := open(t)
		want := router.Binding{
			Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v3",
			Salt: "x", Rules: []router.Rule{}, UpdatedAt: at(13),
		}
		write(t, s, func(tx router.Tx) error { return tx.PutBinding(t.Context(), want) })
		got, err := s.GetBinding(t.Context(), "acme", "orders")
		must(t, err, "get binding")
		same(t, "binding", got, want, normBinding)
	})
	t.Run("bindings are filtered by tenant, by service or both", func(t *testing.T) {
		s := open(t)
		ao, ap, bo := binding("acme", "orders"), binding("acme", "payments"), binding("beta", "orders")
		write(t, s, func(tx router.Tx) error {
			for _, b := range []router.Binding{bo, ap, ao} {
				if err := tx.PutBinding(t.Context(), b); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			filter router.BindingFilter
			want   []router.Binding
		}{
			{router.BindingFilter{}, []router.Binding{ao, ap, bo}},
			{router.BindingFilter{Tenant: "acme"}, []router.Binding{ao, ap}},
			{router.BindingFilter{Service: "orders"}, []router.Binding{ao, bo}},
			{router.BindingFilter{Tenant: "beta", Service: "orders"}, []router.Binding{bo}},
			{router.BindingFilter{Tenant: "beta", Service: "payments"}, nil},
		} {
			got, err := s.ListBindings(t.Context(), c.filter)
			must(t, err, "list bindings")
			sameList(t, fmt.Sprintf("bindings %+v", c.filter), got, c.want, normBinding)
		}
	})
	t.Run("a missing binding is not found", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutBinding(t.Context(), binding("acme", "orders")) })
		_, err := s.GetBinding(t.Context(), "acme", "payments")
		wantCode(t, err, apperr.NotFound, "get missing binding")
	})
	t.Run("a deleted binding is gone and cannot be deleted again", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutBinding(t.Context(), binding("acme", "orders")) })
		write(t, s, func(tx router.Tx) error { return tx.DeleteBinding(t.Context(), "acme", "orders") })
		_, err := s.GetBinding(t.Context(), "acme", "orders")
		wantCode(t, err, apperr.NotFound, "get deleted binding")
		err = s.InTx(t.Context(), func(tx router.Tx) error { return tx.DeleteBinding(t.Context(), "acme", "orders") })
		wantCode(t, err, apperr.NotFound, "delete missing binding")
	})
}
