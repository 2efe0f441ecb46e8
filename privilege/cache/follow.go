package cache

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Following: a replica subscribes to the channel and learns each
// announced version within milliseconds; a poller reads every version
// each PollInterval, so a missed message (a reconnect, a failed publish)
// costs at most one interval, and every (re)subscription triggers a poll
// that covers what was published while it was away. Learning a version
// never touches a cache: keys carry versions, so older entries are simply
// no longer asked for.

// Start follows announcements (with Redis) and polls (with Redis or a
// Poll function) in the background until Close. It does not poll first:
// call PollOnce before, to start from confirmed versions.
func (v *Versions) Start() {
	v.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		v.cancel = cancel
		if v.o.Poll != nil {
			v.wg.Add(1)
			go v.poll(ctx)
		}
		if v.rdb != nil {
			v.wg.Add(1)
			go v.subscribe(ctx)
		}
	})
}

// Close stops following; the versions known stay readable.
func (v *Versions) Close() {
	v.closeOnce.Do(func() {
		v.startOnce.Do(func() {}) // a later Start starts nothing
		v.cancel()
		v.subMu.Lock()
		if v.sub != nil {
			_ = v.sub.Close() // a Receive blocked on the connection does not watch ctx
		}
		v.subMu.Unlock()
		v.wg.Wait()
	})
}

// PollOnce reads every version with Poll, learns them and confirms the
// versions; it is bounded by PollInterval plus two seconds.
func (v *Versions) PollOnce(ctx context.Context) error {
	if v.o.Poll == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, v.o.PollInterval+2*time.Second)
	defer cancel()
	vs, source, err := v.o.Poll(ctx)
	if err != nil {
		if v.o.OnPollError != nil {
			v.o.OnPollError(err)
		}
		return err
	}
	for tenant, n := range vs {
		v.Learn(tenant, n, source)
	}
	v.Confirm()
	return nil
}

// PollNow asks the poller for an immediate poll without waiting for it.
func (v *Versions) PollNow() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// poll polls every PollInterval (and when kicked) until ctx ends.
func (v *Versions) poll(ctx context.Context) {
	defer v.wg.Done()
	t := time.NewTicker(v.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-v.kick:
		}
		_ = v.PollOnce(ctx)
	}
}

// subscribe follows the channel until ctx ends, resubscribing a second
// after errors.
func (v *Versions) subscribe(ctx context.Context) {
	defer v.wg.Done()
	for ctx.Err() == nil {
		sub := v.rdb.Subscribe(ctx, v.ch)
		v.subMu.Lock()
		v.sub = sub
		v.subMu.Unlock()
		if ctx.Err() == nil { // Close closes v.sub to end a blocked Receive
			v.follow(ctx, sub)
		}
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (v *Versions) follow(ctx context.Context, sub *redis.PubSub) {
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				v.PollNow()
			}
		case *redis.Message:
			n, tenant, ok := strings.Cut(m.Payload, " ")
			if !ok {
				continue
			}
			if version, err := strconv.ParseInt(n, 10, 64); err == nil {
				v.Learn(unfield(tenant), version, "pubsub")
			}
		}
	}
}
