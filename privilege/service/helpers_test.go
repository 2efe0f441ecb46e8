package service_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// clock is a controllable clock for expiries.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newService starts a service on store and rdb (nil: no Redis) that
// stops when the test ends.
func newService(t *testing.T, store privilege.Store, rdb redis.UniversalClient, o service.Options) *service.Service {
	t.Helper()
	o.Redis = rdb
	s, err := service.New(t.Context(), store, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// sqliteStore is a fresh migrated SQLite store.
func sqliteStore(t *testing.T) privilege.Store { return sqliteStoreTB(t) }

func sqliteStoreTB(t testing.TB) *sqlstore.Store {
	return sqlstore.New(testutil.MigratedDB(t, "").Gorm)
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func req(tenant, subject, action, resource string) privilege.Request {
	return privilege.Request{Tenant: tenant, Subject: privilege.Subject{ID: subject}, Action: action, Resource: privilege.Resource{Name: resource}}
}

func check(t *testing.T, s *service.Service, r privilege.Request, o service.CheckOptions) privilege.Decision {
	t.Helper()
	d, err := s.Check(t.Context(), r, o)
	must(t, err, "check")
	return d
}

// grant writes a role reader on orders/* and assigns it to subject.
func grant(t *testing.T, s *service.Service, tenant, subject string, expires time.Time) service.Token {
	t.Helper()
	tok, err := s.Write(t.Context(), tenant, "test", "", func(tx privilege.Tx) error {
		if err := tx.PutRole(context.Background(), privilege.Role{Tenant: tenant, Name: "reader",
			Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}}); err != nil {
			return err
		}
		return tx.PutAssignment(context.Background(), privilege.Assignment{Tenant: tenant, Subject: subject, Role: "reader", ExpiresAt: expires})
	})
	must(t, err, "grant")
	return tok
}

func revoke(t *testing.T, s *service.Service, tenant, subject string) service.Token {
	t.Helper()
	tok, err := s.Write(t.Context(), tenant, "test", "", func(tx privilege.Tx) error {
		return tx.DeleteAssignment(context.Background(), subject, "reader")
	})
	must(t, err, "revoke")
	return tok
}

// eventually retries cond until it holds or a deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type redisClient = redis.UniversalClient
