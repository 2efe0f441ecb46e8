package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greyrouter/greyrouter/login"
	loginredis "github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/login/verify"
)

// Authenticator verifies greyrouter access tokens in this process. It is
// safe for concurrent use; one per process is enough, shared by every
// router and handler.
type Authenticator struct {
	verifier *verify.Verifier
	revs     *verify.Revocations
	cfg      Config

	stop      context.CancelFunc
	done      chan struct{} // closed when the background work has ended
	closeOnce sync.Once

	lastWarn atomic.Int64 // unix nanoseconds of the last warning a request logged
}

// New fetches the signing keys, reads greyrouter's revocation feed to its
// end, and returns an Authenticator that keeps following the feed until
// Close. It fails when the configuration is incomplete, when the keys
// cannot be fetched, or when the feed was not read before ctx ends: start
// it with a deadline, and let the service's supervisor retry. Before its
// first read of the feed a process cannot know which tokens were revoked,
// so New does not return an Authenticator that has not made one.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	keys := verify.NewJWKS(cfg.keysURL(), cfg.HTTPClient, verify.JWKSOptions{})
	if err := keys.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("auth: fetch signing keys from %s: %w", cfg.keysURL(), err)
	}
	revs := verify.NewRevocations(nil)
	maxStale := max(cfg.MaxStaleness, 0) // verify: 0 never refuses
	v, err := verify.New(verify.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: keys, Revocations: revs,
		CacheSize: cfg.CacheSize, MaxStaleness: maxStale, FailOpenWhenStale: cfg.AcceptWhenStale,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	// The background work outlives New's ctx but keeps its values.
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &Authenticator{verifier: v, revs: revs, cfg: cfg, stop: stop, done: make(chan struct{})}
	feed := loginredis.NewFeed(cfg.Redis)
	notify := feed.Notifications(bg)
	var wg sync.WaitGroup
	wg.Go(func() { _ = revs.Follow(bg, feed, notify, cfg.PollInterval) })
	if cfg.MaxStaleness > 0 {
		wg.Go(func() { a.watchStaleness(bg) })
	}
	go func() {
		wg.Wait()
		for range notify { // closed by the feed once bg ends
		}
		close(a.done)
	}()

	if err := a.awaitFirstSync(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// awaitFirstSync waits until the feed has been read to its end once.
func (a *Authenticator) awaitFirstSync(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !a.revs.Ready() {
		select {
		case <-ctx.Done():
			if err := a.revs.Err(); err != nil {
				return fmt.Errorf("auth: read the revocation feed: %w", err)
			}
			return fmt.Errorf("auth: read the revocation feed: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// watchStaleness logs when the revocation state goes stale and when it is
// current again: once per change, not once per refused request.
func (a *Authenticator) watchStaleness(ctx context.Context) {
	tick := time.NewTicker(a.cfg.PollInterval)
	defer tick.Stop()
	stale := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		age := a.revs.Staleness(time.Now())
		isStale := age > a.cfg.MaxStaleness
		switch {
		case isStale && !stale:
			msg := "revocation state is stale: refusing every token with 503"
			if a.cfg.AcceptWhenStale {
				msg = "revocation state is stale: accepting tokens that may have been revoked"
			}
			args := []any{"age", age.Round(time.Millisecond), "max_staleness", a.cfg.MaxStaleness}
			if err := a.revs.Err(); err != nil {
				args = append(args, "err", err)
			}
			a.cfg.Log.Warn(msg, args...)
		case !isStale && stale:
			a.cfg.Log.Info("revocation state is current again")
		}
		stale = isStale
	}
}

// Verify returns the principal of a valid access token, for transports
// other than HTTP. Its errors are login/verify's: code unauthenticated for
// a token that must not pass, unavailable when the keys or a current
// revocation state are missing.
func (a *Authenticator) Verify(ctx context.Context, token string) (login.Principal, error) {
	return a.verifier.Verify(ctx, token)
}

// Staleness returns how long ago the revocation feed was last read to its
// end: about PollInterval or less while Redis is reachable. Services may
// export it as a metric or fail their readiness on it.
func (a *Authenticator) Staleness() time.Duration {
	return a.revs.Staleness(time.Now())
}

// Close stops following the revocation feed and waits until the
// background work has ended. Tokens are still verified afterwards, against
// a revocation state that only ages: past MaxStaleness they are refused
// (or, with AcceptWhenStale, accepted unchecked). It does not close
// Config.Redis.
func (a *Authenticator) Close() {
	a.closeOnce.Do(func() {
		a.stop()
		<-a.done
	})
}

// warnLimited logs a warning at most once every ten seconds, so that an
// outage refusing every request does not flood the log.
func (a *Authenticator) warnLimited(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := a.lastWarn.Load()
	if now-last < int64(10*time.Second) || !a.lastWarn.CompareAndSwap(last, now) {
		return
	}
	a.cfg.Log.Warn(msg, args...)
}
