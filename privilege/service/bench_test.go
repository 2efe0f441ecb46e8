package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/workload"
)

// benchService loads a generated workload into a fresh SQLite store and
// returns a service (no Redis) and the workload's checks as requests.
func benchService(b *testing.B, spec workload.Spec) (*service.Service, []privilege.Request) {
	b.Helper()
	w := workload.Generate(spec)
	store := sqliteStoreTB(b)
	ctx := context.Background()
	if _, err := store.InTx(ctx, "", func(tx privilege.Tx) error {
		for _, r := range w.Roles {
			if r.Tenant == "" {
				if err := tx.PutRole(ctx, r); err != nil {
					return err
				}
			}
		}
		for _, a := range w.Assignments {
			if a.Tenant == "" {
				if err := tx.PutAssignment(ctx, a); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := store.InTx(ctx, w.Tenant, func(tx privilege.Tx) error {
		for _, r := range w.Roles {
			if r.Tenant != "" {
				if err := tx.PutRole(ctx, r); err != nil {
					return err
				}
			}
		}
		for _, a := range w.Assignments {
			if a.Tenant != "" {
				if err := tx.PutAssignment(ctx, a); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err, apperr.DetailsOf(err))
	}
	s, err := service.New(ctx, store, service.Options{Now: func() time.Time { return w.Now }, L1Size: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	reqs := make([]privilege.Request, len(w.Checks))
	for i, c := range w.Checks {
		reqs[i] = privilege.Request{Tenant: w.Tenant, Subject: privilege.Subject{ID: c.Subject}, Action: c.Action, Resource: privilege.Resource{Name: c.Resource}}
	}
	return s, reqs
}

// BenchmarkServiceCheck times a check through the service: an L1 hit
// (every request seen before) and an engine answer (the L1 bypassed by
// asking each request for the first time at a new version is not
// possible without writes, so Explain stands in: it skips the caches).
func BenchmarkServiceCheck(b *testing.B) {
	for _, spec := range workload.Specs {
		if spec.Name == "large" && testing.Short() {
			continue
		}
		b.Run(spec.Name, func(b *testing.B) {
			s, reqs := benchService(b, spec)
			ctx := context.Background()
			for _, r := range reqs { // warm L1 and the engine
				if _, err := s.Check(ctx, r, service.CheckOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			for _, allowed := range []bool{true, false} {
				var sel []privilege.Request
				for _, r := range reqs {
					d, _ := s.Check(ctx, r, service.CheckOptions{})
					if d.Allowed == allowed && d.Tier == service.TierL1 {
						sel = append(sel, r)
					}
				}
				if len(sel) == 0 {
					continue
				}
				b.Run(fmt.Sprintf("l1-hit/allowed=%v", allowed), func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						d, _ := s.Check(ctx, sel[i%len(sel)], service.CheckOptions{})
						if d.Tier != service.TierL1 {
							b.Fatalf("tier %s", d.Tier)
						}
					}
				})
			}
			b.Run("l1-hit/parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						_, _ = s.Check(ctx, reqs[i%len(reqs)], service.CheckOptions{})
					}
				})
			})
			b.Run("engine-explained", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					_, _ = s.Check(ctx, reqs[i%len(reqs)], service.CheckOptions{Explain: true})
				}
			})
		})
	}
}
