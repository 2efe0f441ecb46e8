package login_test

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/login/sqlstore"
)

// auditLog collects audit events (a test double for pure bookkeeping).
type auditLog struct {
	mu     sync.Mutex
	events []login.AuditEvent
}

func (l *auditLog) Record(_ context.Context, e login.AuditEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *auditLog) last() login.AuditEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[len(l.events)-1]
}

type fixture struct {
	auth   *login.Authenticator
	users  login.UserStore
	hasher *login.Hasher
	audit  *auditLog
	redis  *testutil.RedisServer
}

var clientIP = netip.MustParseAddr("192.0.2.10")

// newFixture wires an Authenticator over SQLite, a real Redis throttle
// (maxFailures failures lock an account for a second) and real argon2id
// parameters.
func newFixture(t *testing.T, maxFailures int) *fixture {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	hasher, err := login.NewHasher(login.DefaultPasswordParams(), 2)
	if err != nil {
		t.Fatal(err)
	}
	rs := testutil.Redis(t)
	acct := redisstore.Policy{Window: time.Minute, MaxFailures: maxFailures, BaseLockout: time.Second, MaxLockout: 4 * time.Second}
	throttle := redisstore.NewThrottle(redisstore.New(rs.Client(t)), acct, redisstore.IPPolicy())
	f := &fixture{users: sqlstore.New(db.Gorm), hasher: hasher, audit: &auditLog{}, redis: rs}
	f.auth = login.NewAuthenticator(f.users, hasher, throttle, f.audit, slog.New(slog.DiscardHandler), nil)
	f.addUser(t, hasher, "alice", "correct horse battery", login.UserActive)
	f.addUser(t, hasher, "dora", "disabled but right", login.UserDisabled)
	return f
}

func (f *fixture) addUser(t *testing.T, h *login.Hasher, name, password string, status login.UserStatus) login.User {
	t.Helper()
	hash, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	u := login.User{ID: login.NewUserID(), Tenant: "acme", Username: name, Status: status, PasswordHash: hash,
		CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := f.users.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) try(username, password string) (login.User, error) {
	return f.auth.Authenticate(context.Background(), login.Attempt{Tenant: "acme", Username: username, Password: password, IP: clientIP, UserAgent: "test"})
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t, 3)

	t.Run("the right password logs in and is audited", func(t *testing.T) {
		u, err := f.try("Alice", "correct horse battery")
		if err != nil || u.Username != "alice" {
			t.Fatalf("got %+v, %v", u, err)
		}
		stored, _ := f.users.GetUser(context.Background(), "acme", "alice")
		if stored.LastLoginAt.IsZero() {
			t.Fatal("last login not recorded")
		}
		if e := f.audit.last(); e.Kind != "login_success" || e.UserID != u.ID || e.IP != clientIP.String() {
			t.Fatalf("audit %+v", e)
		}
	})

	t.Run("unknown user, wrong password and disabled user look the same", func(t *testing.T) {
		var msgs []string
		for _, c := range []struct{ user, password, reason string }{
			{"nobody", "whatever it is", "unknown_user"},
			{"alice", "wrong password", "wrong_password"},
			{"dora", "disabled but right", "inactive_user"},
		} {
			_, err := f.try(c.user, c.password)
			if err != login.ErrInvalidCredentials {
				t.Fatalf("%s: %v", c.reason, err)
			}
			msgs = append(msgs, apperr.MessageOf(err)+"|"+string(apperr.CodeOf(err)))
			if e := f.audit.last(); e.Kind != "login_failure" || e.Reason != c.reason {
				t.Fatalf("%s: audit %+v", c.reason, e)
			}
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Fatalf("answers differ: %q", msgs)
		}
		// Reset alice's failure count for the next subtests.
		if _, err := f.try("alice", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("repeated failures lock the account with a retry-after", func(t *testing.T) {
		for range 3 {
			if _, err := f.try("alice", "nope nope nope"); err != login.ErrInvalidCredentials {
				t.Fatal(err)
			}
		}
		if e := f.audit.last(); e.Kind != "login_lockout" || e.Username != "alice" {
			t.Fatalf("the failure that locked the account was audited as %+v", e)
		}
		_, err := f.try("alice", "correct horse battery")
		wait, ok := login.RetryAfter(err)
		if !apperr.Is(err, apperr.RateLimited) || !ok || wait < time.Second {
			t.Fatalf("4th attempt: %v (wait %v)", err, wait)
		}
		if e := f.audit.last(); e.Kind != "login_throttled" {
			t.Fatalf("audit %+v", e)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := f.try("alice", "correct horse battery"); err == nil {
				break
			} else if !apperr.Is(err, apperr.RateLimited) || time.Now().After(deadline) {
				t.Fatalf("after the lockout: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("an old hash is upgraded at login", func(t *testing.T) {
		stronger := login.DefaultPasswordParams()
		stronger.Time = 3
		old, err := login.NewHasher(stronger, 1)
		if err != nil {
			t.Fatal(err)
		}
		u := f.addUser(t, old, "olga", "an older hash here", login.UserActive)
		if _, err := f.try("olga", "an older hash here"); err != nil {
			t.Fatal(err)
		}
		after, _ := f.users.GetUser(context.Background(), "acme", "olga")
		if after.PasswordHash == u.PasswordHash {
			t.Fatal("hash not upgraded")
		}
		if ok, rehash, err := f.hasher.Verify(context.Background(), "an older hash here", after.PasswordHash); !ok || rehash || err != nil {
			t.Fatalf("upgraded hash: ok=%v rehash=%v err=%v", ok, rehash, err)
		}
	})

	t.Run("a throttle that cannot be reached denies", func(t *testing.T) {
		f.redis.Stop(t)
		defer f.redis.Start(t)
		if _, err := f.try("alice", "correct horse battery"); !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("with Redis down: %v", err)
		}
	})
}

// TestUnknownUserAndWrongPasswordTakeTheSameTime compares median timings;
// both pay one argon2id verification. It retries to ride out noise on a
// shared machine, but a path that skipped the hash would fail every time.
func TestUnknownUserAndWrongPasswordTakeTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing in -short mode")
	}
	f := newFixture(t, 1000) // no lockout during the measurement
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	var ratio float64
	for range 3 {
		var unknown, wrong []time.Duration
		for i := range 10 {
			// Distinct usernames keep the lockout out of the measurement.
			start := time.Now()
			f.auth.Authenticate(context.Background(), login.Attempt{Tenant: "acme", Username: "ghost" + string(rune('a'+i)), Password: "x y z w v", IP: netip.MustParseAddr("198.51.100.1")})
			unknown = append(unknown, time.Since(start))
			start = time.Now()
			f.auth.Authenticate(context.Background(), login.Attempt{Tenant: "acme", Username: "dora", Password: "x y z w v", IP: netip.MustParseAddr("198.51.100.2")})
			wrong = append(wrong, time.Since(start))
		}
		ratio = float64(median(unknown)) / float64(median(wrong))
		if ratio > 0.8 && ratio < 1.25 {
			return
		}
	}
	t.Fatalf("median unknown-user / wrong-password time ratio %.2f, want within 0.8-1.25", ratio)
}
