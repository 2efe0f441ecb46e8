package sdk_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/privilege"
	"github.com/greyrouter/greyrouter/sdk/router"
)

// op is one kind of call the load makes through the SDK.
type op int

const (
	opResolve      op = iota // sdk/router local mode, a known tenant
	opVerify                 // sdk/auth, default MaxStaleness (1 m)
	opVerifyStrict           // sdk/auth, MaxStaleness shorter than the outage
	opCheck                  // sdk/privilege following Redis, a check seen before
	opCheckTTL               // sdk/privilege without Redis, short MaxStale, a check seen before
	opUnseen                 // sdk/privilege following Redis, a check never asked before
	numOps
)

var opNames = [numOps]string{"resolve", "verify", "verify strict", "check", "check ttl", "check unseen"}

// sdks are the SDK clients under load, with the answers they must give.
type sdks struct {
	router     *router.Client
	auth       *auth.Authenticator
	authStrict *auth.Authenticator
	priv       *privilege.Client
	privTTL    *privilege.Client

	resolveTenants []string
	resolveKeys    []string
	wantVersion    map[string]string // tenant+"/"+key -> version decided before the outage
	tokens         []tokenWant
	revoked        string
	checks         []checkWant // seen before the outage, allowed and denied
	ttlChecks      []checkWant // the allowed ones of checks
	unseenCount    atomic.Int64
}

type tokenWant struct{ token, subject string }

type checkWant struct {
	req     privilege.Request
	allowed bool
}

// load runs workers calling the SDK until ctx ends: each worker, every
// tick, resolves, verifies (with both authenticators) and checks (with
// both privilege clients); one more goroutine asks checks never asked
// before at unseenEvery.
func (s *sdks) load(ctx context.Context, clk *clock, workers int, tick, unseenEvery time.Duration) *recorder {
	recs := make([]*recorder, workers+1)
	var wg sync.WaitGroup
	for w := range workers {
		recs[w] = &recorder{}
		wg.Go(func() { s.worker(ctx, clk, recs[w], w, tick) })
	}
	recs[workers] = &recorder{}
	wg.Go(func() { s.unseenWorker(ctx, clk, recs[workers], unseenEvery) })
	wg.Wait()
	all := &recorder{}
	for _, r := range recs {
		all.merge(r)
	}
	return all
}

func (s *sdks) worker(ctx context.Context, clk *clock, r *recorder, w int, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := w; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := clk.now()
		s.resolve(r, at, i)
		s.verify(ctx, r, at, opVerify, s.auth, i)
		s.verify(ctx, r, at, opVerifyStrict, s.authStrict, i)
		s.check(ctx, r, at, opCheck, s.priv, s.checks, i)
		s.check(ctx, r, at, opCheckTTL, s.privTTL, s.ttlChecks, i)
	}
}

func (s *sdks) resolve(r *recorder, at *phaseAt, i int) {
	tenant, key := s.resolveTenants[i%len(s.resolveTenants)], s.resolveKeys[(i/len(s.resolveTenants))%len(s.resolveKeys)]
	began := time.Now()
	in, err := s.router.Resolve(context.Background(), tenant, "orders", router.ResolveOptions{Key: key})
	o := outcome{ok: true}
	switch want := s.wantVersion[tenant+"/"+key]; {
	case err != nil:
		o = outcome{why: fmt.Sprintf("Resolve(%s, orders, key %s): %v", tenant, key, err)}
	case in.Version != want || in.Address == "":
		o = outcome{why: fmt.Sprintf("Resolve(%s, orders, key %s) = version %q at %q, want version %q", tenant, key, in.Version, in.Address, want)}
	}
	r.record(at, opResolve, began, o)
}

// verify checks a valid token (refused only with a 503-kind error) and,
// every eighth call, the revoked one (never accepted).
func (s *sdks) verify(ctx context.Context, r *recorder, at *phaseAt, kind op, a *auth.Authenticator, i int) {
	if i%8 == 7 {
		began := time.Now()
		p, err := a.Verify(ctx, s.revoked)
		o := outcome{ok: true}
		switch {
		case err == nil:
			o = outcome{why: "a revoked token was accepted as " + p.Subject}
		case apperr.Is(err, apperr.Unavailable):
			o = outcome{refused: true}
		}
		r.record(at, kind, began, o)
		return
	}
	tw := s.tokens[i%len(s.tokens)]
	began := time.Now()
	p, err := a.Verify(ctx, tw.token)
	o := outcome{ok: true}
	switch {
	case err != nil && apperr.Is(err, apperr.Unavailable):
		o = outcome{refused: true, why: err.Error()}
	case err != nil:
		o = outcome{why: "a valid token was refused: " + err.Error()}
	case p.Subject != tw.subject:
		o = outcome{why: fmt.Sprintf("token of %s verified as %s", tw.subject, p.Subject)}
	}
	r.record(at, kind, began, o)
}

func (s *sdks) check(ctx context.Context, r *recorder, at *phaseAt, kind op, c *privilege.Client, checks []checkWant, i int) {
	cw := checks[i%len(checks)]
	began := time.Now()
	d, err := c.Check(ctx, cw.req, privilege.CheckOptions{})
	if ctx.Err() != nil {
		return // cut short by the end of the load
	}
	r.record(at, kind, began, judge(cw, d, err))
}

// unseenWorker asks, at every tick, a check never asked before: in turn
// one the policy allows and one it denies.
func (s *sdks) unseenWorker(ctx context.Context, clk *clock, r *recorder, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := clk.now()
		cw := s.unseen()
		began := time.Now()
		d, err := s.priv.Check(ctx, cw.req, privilege.CheckOptions{})
		if ctx.Err() != nil {
			return // cut short by the end of the load
		}
		r.record(at, opUnseen, began, judge(cw, d, err))
	}
}

// unseen returns a check no client asked before, alternately allowed and
// denied by the policy.
func (s *sdks) unseen() checkWant {
	n := s.unseenCount.Add(1)
	if n%2 == 0 {
		return checkWant{req: checkReq(readers[0], fmt.Sprintf("orders/unseen-%d", n)), allowed: true}
	}
	return checkWant{req: checkReq(fmt.Sprintf("%s-%d", stranger, n), "orders/1"), allowed: false}
}

func checkReq(subject, resource string) privilege.Request {
	return privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: subject}, Action: "read", Resource: privilege.Resource{Name: resource}}
}

// judge classifies a privilege answer: the policy's answer is ok, a
// fail-closed denial of an allowed check is refused, anything else (an
// error, an allowed check denied otherwise, a denied check allowed) is a
// failure.
func judge(cw checkWant, d privilege.Decision, err error) outcome {
	who := fmt.Sprintf("%s %s %s", cw.req.Subject.ID, cw.req.Action, cw.req.Resource.Name)
	switch {
	case err != nil:
		return outcome{why: who + ": " + err.Error()}
	case d.Allowed == cw.allowed:
		return outcome{ok: true, tier: d.Tier}
	case d.Tier == privilege.TierFailClosed && cw.allowed:
		return outcome{refused: true, tier: d.Tier}
	}
	return outcome{tier: d.Tier, why: fmt.Sprintf("%s: allowed=%v (tier %s, reason %q), want allowed=%v", who, d.Allowed, d.Tier, d.Reason, cw.allowed)}
}
