package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

//go:embed lua/revocation_publish.lua
var publishSrc string

// publishScript is wrapped once: Run sends EVALSHA and falls back to EVAL.
var publishScript = redis.NewScript(publishSrc)

// Revocation feed keys. The stream is one key, so it lives in one slot;
// PUBLISH reaches subscribers on every node of a Cluster.
const (
	// RevocationStream is the stream of revocation events: field "r" of
	// each entry is a login.Revocation in JSON.
	RevocationStream = "lg:revocations"
	// RevocationChannel carries the id of the newest entry after every
	// Publish.
	RevocationChannel = "lg:revocations"
)

// DefaultRetention is how long the stream keeps an event by default.
const DefaultRetention = 24 * time.Hour

var streamIDRE = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// Feed is login.RevocationFeed on a Redis stream plus a pub/sub
// notification. Publish trims entries inserted more than Retention ago;
// that is insertion age, not the events' ExpiresAt, so Retention must be
// at least the longest ExpiresAt - At of any event, and verifiers drop
// events whose ExpiresAt has passed themselves.
type Feed struct {
	rdb redis.UniversalClient

	// Retention is how long after insertion an event stays in the stream;
	// DefaultRetention when zero. Set it before the first Publish.
	Retention time.Duration
	// Now is the clock trimming is measured by; time.Now when nil.
	Now func() time.Time
}

var _ login.RevocationFeed = (*Feed)(nil)

// NewFeed returns a revocation feed on any client: standalone, Sentinel
// or Cluster.
func NewFeed(rdb redis.UniversalClient) *Feed { return &Feed{rdb: rdb} }

// Publish appends the events, trims the stream and notifies subscribers,
// atomically. With no events it only makes sure the stream exists (see
// Exists).
func (f *Feed) Publish(ctx context.Context, rs ...login.Revocation) error {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	retention := f.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	minID := max(now().Add(-retention).UnixMilli(), 0)
	args := make([]any, 0, 2+len(rs))
	args = append(args, RevocationChannel, minID)
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return apperr.Wrap(apperr.Internal, err, "encode revocation")
		}
		args = append(args, b)
	}
	if err := publishScript.Run(ctx, f.rdb, []string{RevocationStream}, args...).Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "publish revocations")
	}
	return nil
}

// Read returns up to limit events after cursor ("" for the oldest kept)
// and the cursor of the last one returned, cursor itself when there are
// none. An entry that does not decode is skipped (it could never be
// applied, and stopping at it would stall every verifier).
func (f *Feed) Read(ctx context.Context, cursor string, limit int) ([]login.Revocation, string, error) {
	if limit <= 0 {
		return nil, cursor, apperr.New(apperr.Invalid, "read revocations: limit must be positive")
	}
	start := "-"
	if cursor != "" {
		if !streamIDRE.MatchString(cursor) {
			return nil, cursor, apperr.New(apperr.Invalid, "read revocations: malformed cursor %q", cursor)
		}
		start = "(" + cursor
	}
	msgs, err := f.rdb.XRangeN(ctx, RevocationStream, start, "+", int64(limit)).Result()
	if err != nil {
		return nil, cursor, apperr.Wrap(apperr.Unavailable, err, "read revocations")
	}
	out := make([]login.Revocation, 0, len(msgs))
	for _, m := range msgs {
		cursor = m.ID
		s, _ := m.Values["r"].(string)
		var r login.Revocation
		if json.Unmarshal([]byte(s), &r) != nil {
			continue
		}
		out = append(out, r)
	}
	return out, cursor, nil
}

// Exists reports whether the stream exists. It is missing only before the
// first Publish and after Redis lost its data (a flush, or a restart
// without persistence); the login service then publishes the events still
// active in its database again, even none, which recreates it.
func (f *Feed) Exists(ctx context.Context) (bool, error) {
	n, err := f.rdb.Exists(ctx, RevocationStream).Result()
	if err != nil {
		return false, apperr.Wrap(apperr.Unavailable, err, "check revocation stream")
	}
	return n == 1, nil
}

// Notifications subscribes to the feed's channel and returns a channel
// that receives a signal after every Publish, so that a verifier calls
// Read at once instead of on its next poll. Signals coalesce (the buffer
// holds one), and one is also sent whenever the subscription is
// established or re-established: go-redis reconnects on its own, and
// notifications sent while it was away are lost, so the verifier should
// Read then too. The channel is closed when ctx ends.
func (f *Feed) Notifications(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub := f.rdb.Subscribe(ctx, RevocationChannel)
	in := sub.ChannelWithSubscriptions()
	go func() {
		defer func() {
			close(out)
			_ = sub.Close()
			for range in { // until go-redis closes it, so its goroutine ends
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
