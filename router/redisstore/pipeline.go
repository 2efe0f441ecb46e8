package redisstore

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher sends concurrent decisions to Redis together: each worker takes
// the calls waiting at that moment and sends them as one pipeline, so under
// load many decisions share one write and one read on both sides of the
// connection, while a lone call still goes out at once (it waits for no
// timer). Each call is still its own EVALSHA, executed atomically.
type batcher struct {
	rdb   redis.UniversalClient
	calls chan *call
	max   int
	wg    sync.WaitGroup
	stop  chan struct{}
	// mu orders enqueueing against close: once closed is set no call is
	// enqueued, and the workers answer every call enqueued before.
	mu     sync.RWMutex
	closed bool
}

// call is one script invocation waiting for its reply.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	done   chan struct{}
	res    string
	err    error
}

func newBatcher(rdb redis.UniversalClient, workers, max int) *batcher {
	b := &batcher{rdb: rdb, calls: make(chan *call, workers*max), max: max, stop: make(chan struct{})}
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// do runs the script through the batcher and waits for its reply or ctx.
func (b *batcher) do(ctx context.Context, script *redis.Script, keys []string, args ...any) (string, error) {
	c := &call{script: script, keys: keys, args: args, done: make(chan struct{})}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return script.Run(ctx, b.rdb, keys, args...).Text()
	}
	select {
	case b.calls <- c:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return "", ctx.Err()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (b *batcher) work() {
	defer b.wg.Done()
	batch := make([]*call, 0, b.max)
	for {
		select {
		case c := <-b.calls:
			batch = append(batch[:0], c)
		case <-b.stop:
			b.drainAll()
			return
		}
	drain:
		for len(batch) < b.max {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		b.exec(batch)
	}
}

// exec sends a batch as one pipeline. Calls whose script Redis does not
// know yet (after a restart or SCRIPT FLUSH) are retried one by one with
// Run, which loads the script.
func (b *batcher) exec(batch []*call) {
	// Calls are answered even if the caller gave up: their context is gone,
	// so the batch runs on its own.
	ctx := context.Background()
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = p.EvalSha(ctx, c.script.Hash(), c.keys, c.args...)
		}
		return nil
	})
	for i, c := range batch {
		c.res, c.err = cmds[i].Text()
		if c.err != nil && strings.HasPrefix(c.err.Error(), "NOSCRIPT") {
			c.res, c.err = c.script.Run(ctx, b.rdb, c.keys, c.args...).Text()
		}
		close(c.done)
	}
}

// drainAll answers the calls still queued when the batcher closes.
func (b *batcher) drainAll() {
	for {
		select {
		case c := <-b.calls:
			b.exec([]*call{c})
		default:
			return
		}
	}
}

// close stops the workers after they answered every queued call; calls
// made afterwards go to Redis directly. It may be called more than once.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
