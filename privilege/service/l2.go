package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/privilege"
)

// l2 is the decision cache shared by every replica, in Redis. Keys carry
// the tenant (as a Cluster hash tag), both policy versions and a hash of
// the subject, action and resource, so a write makes older entries
// unreachable and they leave by their TTL. Values are decisions as JSON.
// Reads wait at most the service's L2 timeout; writes are queued and
// pipelined by one goroutine, dropped when the queue is full: L2 is an
// optimisation for replicas that have not compiled a tenant yet, never a
// reason to slow a check down.
type l2 struct {
	rdb     redis.UniversalClient
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	queue   chan l2Write
	done    chan struct{}
	stats   *metrics
}

type l2Write struct {
	key string
	val []byte
	ttl time.Duration
}

const (
	l2Queue = 4096
	l2Batch = 128
)

func newL2(rdb redis.UniversalClient, prefix string, ttl, timeout time.Duration, m *metrics) *l2 {
	c := &l2{rdb: rdb, prefix: prefix, ttl: ttl, timeout: timeout, queue: make(chan l2Write, l2Queue), done: make(chan struct{}), stats: m}
	go c.run()
	return c
}

// key names a decision: {tenant} keeps a tenant's keys in one Cluster
// slot; the request is hashed so arbitrary names stay short and opaque.
func (c *l2) key(tenant string, version, platform int64, subject, action, resource string) string {
	h := sha256.New()
	for _, s := range []string{subject, action, resource} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	sum := h.Sum(nil)
	return c.prefix + "{" + tenant + "}:d:" + strconv.FormatInt(version, 10) + ":" + strconv.FormatInt(platform, 10) + ":" + hex.EncodeToString(sum[:16])
}

// get returns the cached decision, if any and still valid at now.
func (c *l2) get(ctx context.Context, key string, now time.Time) (privilege.Decision, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b, err := c.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return privilege.Decision{}, false, nil
	}
	if err != nil {
		return privilege.Decision{}, false, err
	}
	var d privilege.Decision
	if err := json.Unmarshal(b, &d); err != nil {
		return privilege.Decision{}, false, nil // a foreign or torn value is a miss
	}
	if !d.ValidUntil.IsZero() && !now.Before(d.ValidUntil) {
		return privilege.Decision{}, false, nil
	}
	return d, true, nil
}

// put queues d for storing under key, for the TTL or until just before
// its ValidUntil; conditional and explained decisions are not cached.
func (c *l2) put(key string, d privilege.Decision, now time.Time) {
	if d.Conditional || d.Votes != nil {
		return
	}
	ttl := c.ttl
	if !d.ValidUntil.IsZero() {
		left := d.ValidUntil.Sub(now) - time.Second // Redis expiry is coarse
		if left <= 0 {
			return
		}
		ttl = min(ttl, left)
	}
	d.Tier = ""
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	select {
	case c.queue <- l2Write{key: key, val: b, ttl: ttl}:
	default:
		c.stats.l2Dropped.Inc()
	}
}

// run writes queued decisions in pipelines until close.
func (c *l2) run() {
	defer close(c.done)
	batch := make([]l2Write, 0, l2Batch)
	for w := range c.queue {
		batch = append(batch[:0], w)
	fill:
		for len(batch) < l2Batch {
			select {
			case w, ok := <-c.queue:
				if !ok {
					break fill
				}
				batch = append(batch, w)
			default:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*c.timeout)
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, w := range batch {
				p.Set(ctx, w.key, w.val, w.ttl)
			}
			return nil
		})
		cancel()
		if err != nil {
			c.stats.l2Errors.Inc()
		}
	}
}

func (c *l2) close() {
	close(c.queue)
	<-c.done
}
