package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

// Transport is an http.RoundTripper that routes each request the way the
// router decides: it resolves the request's service for its tenant,
// sends a copy of the request to the chosen instance, reports the outcome
// and keeps the request in its release lane for the next hop.
//
//	hc := &http.Client{Transport: &router.Transport{Client: c, Reporter: rep,
//		Tenant: func(r *http.Request) string { return auth.FromContext(r.Context()).Tenant }}}
//	resp, err := hc.Get("http://orders/api/v1/orders/42")
//
// The service is the request URL's host name ("orders" above) unless
// Service says otherwise; the copy goes to the instance's address with
// the same scheme, path and query, and with the original Host header, so
// the instance sees the service name it was called by. The caller's
// request is never changed.
//
// Outcomes: a transport error or a status of 500 and above counts as an
// error, anything else as a success, reported once the response body is
// read to its end or closed (so that a least-connections lease covers the
// whole response). A call the caller cancelled says nothing against the
// instance: it is reported as a success, to release its lease without
// counting against the circuit.
//
// Retries: when the connection to the instance fails before a response
// (refused, reset, a dial error), an idempotent request (GET, HEAD,
// OPTIONS, TRACE, PUT, DELETE, or one with an Idempotency-Key header)
// whose body can be sent again (none, or GetBody set) is sent once more
// to another instance: a new decision that avoids the failed one
// (ResolveOptions.Avoid), of the same version. When the version has no
// other usable instance the request fails with the connection error.
// Nothing is retried once a response has arrived, whatever its status.
//
// Lanes: the request's lane (lane.FromContext, else the lane in its own
// baggage header) is followed when it was entered for the tenant routed
// for (ResolveOptions.Lane), and goes out in the baggage header with this
// hop's choice added: the service pinned to the version chosen, the lane
// the decision left the request in (Instance.Lane), the tenant routed
// for, and the revision of the first decision.
type Transport struct {
	// Client decides. Required.
	Client *Client
	// Reporter receives the outcomes; nil reports nothing (leases then
	// expire after the service's lease time).
	Reporter *Reporter
	// Base sends the rewritten request; http.DefaultTransport when nil.
	Base http.RoundTripper
	// Tenant names the tenant a request is for, normally from the
	// authenticated principal. Default: the tenant of the request's lane.
	// A request without a tenant fails with ErrInvalid.
	Tenant func(*http.Request) string
	// Service names the service a request is for. Default: the request
	// URL's host name, without the port.
	Service func(*http.Request) string
	// Options gives a request's sticky key, headers and attributes for
	// Resolve. Default: none.
	Options func(*http.Request) ResolveOptions
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip routes req; see Transport.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	l, ok := lane.FromContext(ctx)
	if !ok {
		if fromHeader, found, err := lane.Extract(req.Header); err == nil && found {
			l = fromHeader
		}
	}
	tenant := l.Tenant
	if t.Tenant != nil {
		tenant = t.Tenant(req)
	}
	service := req.URL.Hostname()
	if t.Service != nil {
		service = t.Service(req)
	}
	if tenant == "" || service == "" {
		closeBody(req)
		return nil, fmt.Errorf("%w: sdk/router: no tenant or service for %s %s", ErrInvalid, req.Method, req.URL.Redacted())
	}
	var opts ResolveOptions
	if t.Options != nil {
		opts = t.Options(req)
	}
	if opts.Lane == "" && l.Tenant == tenant {
		// A lane is followed only for the tenant it was entered for.
		opts.Lane = l.Name
	}
	in, err := t.Client.Resolve(ctx, tenant, service, opts)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("sdk/router: route %s %s for %s: %w", req.Method, service, tenant, err)
	}
	retry := replayable(req)
	resp, err := t.send(req, req.Body, in, l, tenant)
	if err == nil || !retry || !connectionFailed(ctx, err) {
		return resp, err
	}
	next, ok := t.another(ctx, tenant, service, opts, in)
	if !ok {
		return nil, err
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			if next.Lease != "" {
				t.report(next, true, 0) // never called: release its lease
			}
			return nil, fmt.Errorf("sdk/router: body for the retry of %s %s: %w", req.Method, service, err)
		}
	}
	return t.send(req, body, next, l, tenant)
}

// send sends a copy of req with body to in and reports the outcome.
func (t *Transport) send(req *http.Request, body io.ReadCloser, in Instance, l lane.Lane, tenant string) (*http.Response, error) {
	out := newOutgoing(req, body, in.Address)
	hop := lane.Hop{Tenant: tenant, Name: in.Lane, Service: in.Service, Version: in.Version, Revision: in.Revision}
	if err := lane.InjectNext(out.Header, l, hop); err != nil {
		// The caller's baggage header is malformed or full: this hop's
		// lane goes out alone.
		out.Header.Del(lane.Header)
		_ = lane.InjectNext(out.Header, l, hop)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Reporter == nil {
		// Nothing to report: no clock either.
		return base.RoundTrip(out)
	}
	start := time.Now()
	resp, err := base.RoundTrip(out)
	took := time.Since(start)
	if err != nil {
		// A cancelled call is not the instance's fault.
		abandoned := errors.Is(err, context.Canceled) && req.Context().Err() != nil
		t.report(in, abandoned, took)
		return nil, err
	}
	ok := resp.StatusCode < http.StatusInternalServerError
	if resp.Body == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection's body must stay what it is.
		t.report(in, ok, took)
		return resp, nil
	}
	resp.Body = &reportingBody{body: resp.Body, r: t.Reporter, ctx: req.Context(), in: in, ok: ok, took: took}
	return resp, nil
}

// outgoing is the copy of the caller's request sent to the instance, with
// its URL: one allocation.
type outgoing struct {
	req http.Request
	url url.URL
}

// newOutgoing copies req for the instance at addr, with body. The copy is
// shallow, as http.Request.WithContext's is, but for what send changes:
// the URL, and the header map, whose values are still the caller's
// slices. Neither send nor lane.InjectNext writes into a value slice,
// and a RoundTripper must not change the request it sends, so the
// caller's request stays as it was (req.Clone would copy every value, on
// every call, for nothing).
func newOutgoing(req *http.Request, body io.ReadCloser, addr string) *http.Request {
	c := new(outgoing)
	c.req = *req
	c.url = *req.URL
	c.url.Host = addr
	c.req.URL = &c.url
	c.req.Body = body
	if c.req.Host == "" {
		c.req.Host = req.URL.Host
	}
	if c.req.Header = maps.Clone(req.Header); c.req.Header == nil {
		c.req.Header = make(http.Header, 1)
	}
	return &c.req
}

// another decides again for a retry, avoiding the failed instance. A
// decision that names it all the same (no other instance is usable)
// holds no connection: its lease, if any, is released at once.
func (t *Transport) another(ctx context.Context, tenant, service string, opts ResolveOptions, failed Instance) (Instance, bool) {
	opts.Avoid = failed.ID
	in, err := t.Client.Resolve(ctx, tenant, service, opts)
	if err != nil {
		return Instance{}, false
	}
	if in.ID == failed.ID {
		if in.Lease != "" {
			t.report(in, false, 0)
		}
		return Instance{}, false
	}
	return in, true
}

func (t *Transport) report(in Instance, ok bool, took time.Duration) {
	if t.Reporter != nil {
		t.Reporter.Report(in, ok, took)
	}
}

// replayable reports whether req may be sent a second time: an
// idempotent method or an idempotency key, and a body that can be had
// again.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// connectionFailed reports whether err says the connection failed before
// any response: a dial error, a refused or reset connection, or one closed
// without an answer. The caller's own cancellation or deadline is not.
func connectionFailed(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// reportingBody reports the call's outcome when the response body has
// been read to its end or closed, whichever comes first; a read that
// fails midway makes it an error, unless the caller cancelled.
type reportingBody struct {
	body io.ReadCloser
	r    *Reporter
	ctx  context.Context
	in   Instance
	ok   bool
	took time.Duration
	done atomic.Bool
}

func (b *reportingBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.finish(b.ok)
	case err != nil && b.ctx.Err() == nil:
		b.finish(false)
	}
	return n, err
}

func (b *reportingBody) Close() error {
	err := b.body.Close()
	b.finish(b.ok)
	return err
}

func (b *reportingBody) finish(ok bool) {
	if b.done.CompareAndSwap(false, true) {
		b.r.Report(b.in, ok, b.took)
	}
}
