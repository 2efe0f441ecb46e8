package service_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

// TestThreeInstancesNeverAnswerStaleWithTheToken runs a writer and
// checkers against three service instances, each with its own database
// pool (PostgreSQL) and Redis connection. The writer flips alice's role
// on and off; every version's expected answer is known. Checkers passing
// the latest token must never get an older version or a wrong answer;
// checkers without it must never get a wrong answer for the version they
// were told, and how far behind that version was is measured: the bound
// is the announcement latency, or the poll interval when an announcement
// is missed.
func TestThreeInstancesNeverAnswerStaleWithTheToken(t *testing.T) {
	url := testutil.Postgres(t)
	testutil.MigratedDB(t, url)
	rdb := testutil.Redis(t).Client(t)
	var inst []*service.Service
	for range 3 {
		db := testutil.MigratedDB(t, url) // a pool of its own
		inst = append(inst, newService(t, sqlstore.New(db.Gorm), rdb, service.Options{}))
	}
	const tenant = "acme"
	r := req(tenant, "alice", "read", "orders/1")
	var (
		mu       sync.Mutex
		expected = map[int64]bool{}      // version -> alice allowed
		commitAt = map[int64]time.Time{} // version -> when its write returned
		latest   atomic.Pointer[service.Token]
	)
	tok := grant(t, inst[0], tenant, "alice", time.Time{})
	mu.Lock()
	expected[tok.Version], commitAt[tok.Version] = true, time.Now()
	mu.Unlock()
	latest.Store(&tok)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var wrong, staleWithToken, checksWithToken, checksWithout atomic.Int64
	var lagMu sync.Mutex
	var lags []time.Duration
	type answer struct {
		version int64
		allowed bool
	}
	var unjudged []answer // versions announced before their writer recorded them
	for i := range 3 {
		for _, withToken := range []bool{true, false} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := inst[i]
				for ctx.Err() == nil {
					cur := latest.Load()
					started := time.Now()
					var o service.CheckOptions
					if withToken {
						o.AtLeast = cur
					}
					d, err := s.Check(ctx, r, o)
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("check: %v", err)
						}
						return
					}
					mu.Lock()
					want, known := expected[d.PolicyVersion]
					var lag time.Duration
					if at, ok := commitAt[d.PolicyVersion+1]; ok && d.PolicyVersion < cur.Version {
						lag = started.Sub(at)
					}
					if !known {
						unjudged = append(unjudged, answer{d.PolicyVersion, d.Allowed})
					}
					mu.Unlock()
					if known && want != d.Allowed {
						wrong.Add(1)
					}
					if withToken {
						checksWithToken.Add(1)
						if d.PolicyVersion < cur.Version {
							staleWithToken.Add(1)
						}
					} else {
						checksWithout.Add(1)
						if lag > 0 {
							lagMu.Lock()
							lags = append(lags, lag)
							lagMu.Unlock()
						}
					}
				}
			}()
		}
	}
	w := 0
	for i := range 200 {
		var err error
		var next service.Token
		writer := inst[i%3]
		on := i%2 == 1
		if on {
			next = grant(t, writer, tenant, "alice", time.Time{})
		} else {
			next, err = writer.Write(t.Context(), tenant, "test", "", func(tx privilege.Tx) error {
				return tx.DeleteAssignment(context.Background(), "alice", "reader")
			})
			must(t, err, "revoke")
		}
		mu.Lock()
		expected[next.Version], commitAt[next.Version] = on, time.Now()
		mu.Unlock()
		latest.Store(&next)
		w++
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	wg.Wait()
	for _, a := range unjudged {
		if want, ok := expected[a.version]; !ok || want != a.allowed {
			wrong.Add(1)
		}
	}
	slices.Sort(lags)
	pct := func(p float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(p*float64(len(lags))))]
	}
	t.Logf("%d writes; with token: %d checks, %d stale; without: %d checks, %d behind the latest write (p50 %v, p99 %v, max %v)",
		w, checksWithToken.Load(), staleWithToken.Load(), checksWithout.Load(), len(lags), pct(0.5), pct(0.99), pct(1))
	if wrong.Load() != 0 {
		t.Errorf("%d answers disagreed with the version they named", wrong.Load())
	}
	if staleWithToken.Load() != 0 {
		t.Errorf("%d answers with the token were older than the token", staleWithToken.Load())
	}
	if checksWithToken.Load() < 100 || checksWithout.Load() < 100 {
		t.Errorf("too few checks to mean anything: %d with token, %d without", checksWithToken.Load(), checksWithout.Load())
	}
	// Without the token an answer may lag by the announcement latency,
	// or a poll interval (1 s) when one is missed; a generous bound keeps
	// a loaded CI machine from failing it while still catching a replica
	// that never learns.
	if max := pct(1); max > 3*time.Second {
		t.Errorf("an answer without the token lagged %v behind the write", max)
	}
}
