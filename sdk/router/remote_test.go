package router

import (
	"context"
	"errors"
	"testing"

	routing "github.com/greyrouter/greyrouter/router"
)

func TestRemoteClients(t *testing.T) {
	h := newHarness(t)
	h.seedOrders(t)
	ctx := context.Background()
	must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t00", Service: "orders", Mode: routing.ModePin, Version: "v2"}))
	viaRedis := NewRedis(h.rdb, 0)
	defer viaRedis.Close()

	for name, c := range map[string]*Client{
		"http":  NewHTTP(h.srv.URL, StaticToken(platformClientTk), nil),
		"redis": viaRedis,
	} {
		t.Run(name+" decides", func(t *testing.T) {
			in, err := c.Resolve(ctx, "t00", "orders", ResolveOptions{Key: "u1", Headers: map[string]string{"x-a": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			if in.Version != "v2" || in.Reason != "pin" || in.Service != "orders" || in.Tenant != "t00" || in.Address == "" || in.Revision == 0 {
				t.Fatalf("got %+v", in)
			}
			if _, err := c.Resolve(ctx, "nobody", "orders", ResolveOptions{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown tenant: %v", err)
			}
			if _, err := c.Resolve(ctx, "NOT A NAME", "orders", ResolveOptions{}); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrDenied) {
				t.Fatalf("invalid tenant: %v", err)
			}
		})
	}

	t.Run("http lets a tenant's client resolve for its own tenant only", func(t *testing.T) {
		if _, err := NewHTTP(h.srv.URL, StaticToken(clientToken), nil).Resolve(ctx, "t00", "orders", ResolveOptions{}); err != nil {
			t.Fatalf("own tenant: %v", err)
		}
		if _, err := NewHTTP(h.srv.URL, StaticToken("nonsense"), nil).Resolve(ctx, "t00", "orders", ResolveOptions{}); !errors.Is(err, ErrDenied) {
			t.Fatalf("bad token: %v", err)
		}
		if _, err := NewHTTP(h.srv.URL, StaticToken(clientToken), nil).Resolve(ctx, "t01", "orders", ResolveOptions{}); !errors.Is(err, ErrDenied) {
			t.Fatalf("another tenant: %v", err)
		}
		if _, err := NewHTTP(h.srv.URL, StaticToken(platformToken), nil).Resolve(ctx, "t00", "ghost", ResolveOptions{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown service: %v", err)
		}
	})

	t.Run("remote least connections hands out a lease to report", func(t *testing.T) {
		svc, err := h.m.Store().GetService(ctx, "orders")
		if err != nil {
			t.Fatal(err)
		}
		svc.Strategy = routing.LeastConnections
		must[routing.Service](t)(h.m.UpdateService(ctx, "test", svc))
		in, err := viaRedis.Resolve(ctx, "t01", "orders", ResolveOptions{})
		if err != nil || in.Lease == "" {
			t.Fatalf("got %+v, %v", in, err)
		}
		if n, err := h.m.Report(ctx, routing.Outcome{Service: in.Service, Instance: in.ID, OK: true, Lease: in.Lease}); err != nil || n.Circuit != "closed" {
			t.Fatalf("report: %+v %v", n, err)
		}
	})

	t.Run("redis says unavailable for a service without a table", func(t *testing.T) {
		if _, err := viaRedis.Resolve(ctx, "t00", "ghost", ResolveOptions{}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v", err)
		}
	})
}
