package storetest

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// concurrentWriters is how many transactions race in the concurrency
// tests; enough to interleave on two cores without slowing the suite.
const concurrentWriters = 8

func testTransactions(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a transaction whose function fails persists nothing", func(t *testing.T) {
		s := open(t)
		boom := errors.New("boom")
		err := s.InTx(t.Context(), func(tx router.Tx) error {
			ctx := t.Context()
			r := revision("doomed")
			for _, err := range []error{
				tx.PutTenant(ctx, tenant("acme")),
				tx.PutService(ctx, service("orders")),
				tx.PutVersion(ctx, version("orders", "v1")),
				tx.PutInstance(ctx, instance("orders", "i-1")),
				tx.PutBinding(ctx, binding("acme", "orders")),
				tx.AddRevision(ctx, &r),
			} {
				if err != nil {
					t.Errorf("write inside the transaction: %v", err)
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want the function's error", err)
		}
		ctx := t.Context()
		_, err = s.GetTenant(ctx, "acme")
		wantCode(t, err, apperr.NotFound, "tenant after rollback")
		_, err = s.GetService(ctx, "orders")
		wantCode(t, err, apperr.NotFound, "service after rollback")
		_, err = s.GetVersion(ctx, "orders", "v1")
		wantCode(t, err, apperr.NotFound, "version after rollback")
		_, err = s.GetInstance(ctx, "orders", "i-1")
		wantCode(t, err, apperr.NotFound, "instance after rollback")
		_, err = s.GetBinding(ctx, "acme", "orders")
		wantCode(t, err, apperr.NotFound, "binding after rollback")
		_, err = s.GetRevision(ctx, 1)
		wantCode(t, err, apperr.NotFound, "revision after rollback")
		if n, err := s.LatestRevision(ctx); err != nil || n != 0 {
			t.Fatalf("latest revision after rollback = %d, %v; want 0", n, err)
		}
	})
	t.Run("a transaction reads its own writes before it commits", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error {
			ctx := t.Context()
			must(t, tx.PutTenant(ctx, tenant("acme")), "put tenant")
			got, err := tx.GetTenant(ctx, "acme")
			must(t, err, "get tenant inside the transaction")
			same(t, "tenant", got, tenant("acme"), normTenant)
			r := revision("first")
			must(t, tx.AddRevision(ctx, &r), "add revision")
			n, err := tx.LatestRevision(ctx)
			must(t, err, "latest revision inside the transaction")
			if n != 1 {
				t.Errorf("latest revision inside the transaction = %d, want 1", n)
			}
			return nil
		})
	})
	t.Run("concurrent transactions get distinct revision numbers without gaps", func(t *testing.T) {
		s := open(t)
		numbers := make([]int64, concurrentWriters)
		errs := make([]error, concurrentWriters)
		var wg sync.WaitGroup
		for i := range concurrentWriters {
			wg.Go(func() {
				errs[i] = s.InTx(t.Context(), func(tx router.Tx) error {
					r := revision("writer " + strconv.Itoa(i))
					err := tx.AddRevision(t.Context(), &r)
					numbers[i] = r.Number
					return err
				})
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...), "concurrent transactions")
		slices.Sort(numbers)
		for i, n := range numbers {
			if n != int64(i+1) {
				t.Fatalf("revision numbers %v, want 1..%d", numbers, concurrentWriters)
			}
		}
	})
	t.Run("concurrent read-modify-write transactions lose no update", func(t *testing.T) {
		// Each writer reads a counter and writes it back incremented; only
		// transactions that really serialize end with every increment.
		s := open(t)
		write(t, s, func(tx router.Tx) error {
			c := tenant("counter")
			c.DisplayName = "0"
			return tx.PutTenant(t.Context(), c)
		})
		var wg sync.WaitGroup
		errs := make([]error, concurrentWriters)
		for i := range concurrentWriters {
			wg.Go(func() {
				errs[i] = s.InTx(t.Context(), func(tx router.Tx) error {
					c, err := tx.GetTenant(t.Context(), "counter")
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(c.DisplayName)
					c.DisplayName = strconv.Itoa(n + 1)
					return tx.PutTenant(t.Context(), c)
				})
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...), "concurrent transactions")
		c, err := s.GetTenant(t.Context(), "counter")
		must(t, err, "get counter")
		if c.DisplayName != strconv.Itoa(concurrentWriters) {
			t.Fatalf("counter = %s after %d increments", c.DisplayName, concurrentWriters)
		}
	})
	t.Run("a store answers ping", func(t *testing.T) {
		must(t, open(t).Ping(t.Context()), "ping")
	})
}
