package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// TestFeed runs every case against a standalone Redis and a 3-master
// Cluster. The stream is one key per server, so each case starts by
// deleting it and the cases run one after another.
func TestFeed(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, rdb redis.UniversalClient, f *redisstore.Feed)
	}{
		{"events are read back in order, from cursor to cursor", testFeedCursors},
		{"a publish signals subscribers", testFeedNotifications},
		{"the stream drops events inserted longer ago than the retention", testFeedTrim},
		{"the stream's existence marks a publish since Redis lost its data", testFeedExists},
		{"an entry that does not decode is skipped", testFeedSkipsGarbage},
		{"bad read arguments are invalid", testFeedInvalid},
	}
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := rdb.Del(context.Background(), redisstore.RevocationStream).Err(); err != nil {
					t.Fatalf("DEL %s: %v", redisstore.RevocationStream, err)
				}
				c.fn(t, rdb, redisstore.NewFeed(rdb))
			})
		}
	})
}

// revocation returns the i-th test event.
func revocation(i int) login.Revocation {
	at := t0.Add(time.Duration(i) * time.Second)
	return login.Revocation{Kind: login.RevokeSession, Subject: fmt.Sprintf("session-%d", i),
		Tenant: "acme", Reason: "logout", At: at, ExpiresAt: at.Add(15 * time.Minute)}
}

func publish(t *testing.T, f *redisstore.Feed, rs ...login.Revocation) {
	t.Helper()
	if err := f.Publish(context.Background(), rs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// read calls Read and fails the test on an error.
func read(t *testing.T, f *redisstore.Feed, cursor string, limit int) ([]login.Revocation, string) {
	t.Helper()
	rs, next, err := f.Read(context.Background(), cursor, limit)
	if err != nil {
		t.Fatalf("Read(%q, %d): %v", cursor, limit, err)
	}
	return rs, next
}

// wantEvents fails the test unless got are the events want, in order.
func wantEvents(t *testing.T, what string, got []login.Revocation, want ...login.Revocation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events %v, want %d", what, len(got), got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) || !g.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("%s: event %d times %v/%v, want %v/%v", what, i, g.At, g.ExpiresAt, w.At, w.ExpiresAt)
		}
		g.At, g.ExpiresAt, w.At, w.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s: event %d = %+v, want %+v", what, i, g, w)
		}
	}
}

func testFeedCursors(t *testing.T, _ redis.UniversalClient, f *redisstore.Feed) {
	if rs, c := read(t, f, "", 10); len(rs) != 0 || c != "" {
		t.Fatalf("Read of a missing stream = %v, %q; want nothing and the same cursor", rs, c)
	}
	publish(t, f, revocation(1), revocation(2))
	publish(t, f, revocation(3))

	rs, c1 := read(t, f, "", 2)
	wantEvents(t, "first page", rs, revocation(1), revocation(2))
	rs, c2 := read(t, f, c1, 2)
	wantEvents(t, "second page", rs, revocation(3))
	rs, c3 := read(t, f, c2, 2)
	if len(rs) != 0 || c3 != c2 {
		t.Fatalf("Read at the end = %v, %q; want nothing and cursor %q", rs, c3, c2)
	}
	publish(t, f, revocation(4))
	rs, _ = read(t, f, c2, 10)
	wantEvents(t, "after another publish", rs, revocation(4))
	rs, _ = read(t, f, "", 10)
	wantEvents(t, "from the start", rs, revocation(1), revocation(2), revocation(3), revocation(4))
}

// waitSignal fails the test unless ch delivers within a deadline.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the notification channel closed", what)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no signal within 10s", what)
	}
}

func testFeedNotifications(t *testing.T, _ redis.UniversalClient, f *redisstore.Feed) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := f.Notifications(ctx)
	// The first signal says the subscription is in place.
	waitSignal(t, ch, "subscription")
	select {
	case <-ch:
		t.Fatalf("a signal arrived before any publish")
	default:
	}
	publish(t, f, revocation(1))
	waitSignal(t, ch, "first publish")
	// Publishes in a row signal at least once (signals coalesce).
	for i := range 3 {
		publish(t, f, revocation(2+i))
	}
	waitSignal(t, ch, "later publishes")

	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the notification channel stayed open after its context ended")
		}
	}
}

func testFeedTrim(t *testing.T, rdb redis.UniversalClient, f *redisstore.Feed) {
	f.Retention = time.Hour
	publish(t, f, revocation(1), revocation(2))
	// Two hours later by the feed's clock, the first events are older than
	// the retention and go with the next publish; the new one stays.
	f.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	publish(t, f, revocation(3))
	rs, _ := read(t, f, "", 10)
	wantEvents(t, "after trimming", rs, revocation(3))
	if n := rdb.XLen(context.Background(), redisstore.RevocationStream).Val(); n != 1 {
		t.Errorf("stream length = %d, want 1", n)
	}
	// Within the retention nothing goes.
	f.Now = nil
	publish(t, f, revocation(4))
	rs, _ = read(t, f, "", 10)
	wantEvents(t, "within the retention", rs, revocation(3), revocation(4))
}

func testFeedExists(t *testing.T, _ redis.UniversalClient, f *redisstore.Feed) {
	ctx := context.Background()
	exists := func() bool {
		t.Helper()
		ok, err := f.Exists(ctx)
		if err != nil {
			t.Fatalf("Exists: %v", err)
		}
		return ok
	}
	if exists() {
		t.Fatalf("Exists before any publish = true")
	}
	// Republishing an empty set after data loss still marks the stream.
	publish(t, f)
	if !exists() {
		t.Fatalf("Exists after an empty publish = false")
	}
	if rs, c := read(t, f, "", 10); len(rs) != 0 || c != "" {
		t.Errorf("Read after an empty publish = %v, %q; want nothing", rs, c)
	}
	publish(t, f, revocation(1))
	rs, _ := read(t, f, "", 10)
	wantEvents(t, "after the marker", rs, revocation(1))
}

func testFeedSkipsGarbage(t *testing.T, rdb redis.UniversalClient, f *redisstore.Feed) {
	ctx := context.Background()
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: redisstore.RevocationStream, Values: []string{"r", "{not json"}}).Err(); err != nil {
		t.Fatalf("XADD: %v", err)
	}
	publish(t, f, revocation(1))
	rs, c := read(t, f, "", 1)
	if len(rs) != 0 || c == "" {
		t.Fatalf("Read of the garbage entry = %v, %q; want nothing and a cursor past it", rs, c)
	}
	rs, _ = read(t, f, c, 10)
	wantEvents(t, "after the garbage", rs, revocation(1))
}

func testFeedInvalid(t *testing.T, _ redis.UniversalClient, f *redisstore.Feed) {
	ctx := context.Background()
	for _, tt := range []struct {
		cursor string
		limit  int
	}{{"", 0}, {"", -1}, {"1-0) + (", 10}, {"abc", 10}, {"1-", 10}} {
		if _, _, err := f.Read(ctx, tt.cursor, tt.limit); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Read(%q, %d): err = %v, want an Invalid error", tt.cursor, tt.limit, err)
		}
	}
}
