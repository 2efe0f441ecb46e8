package router

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	routing "github.com/greyrouter/greyrouter/router"
)

// Errors a Resolve may return, wrapped with what was being decided; test
// for them with errors.Is.
var (
	// ErrNotFound: the tenant or service is unknown, or there is no route
	// (no binding and no default version).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: no live or healthy instance of the chosen version, a
	// router or Redis that cannot be reached, or, in local mode, no
	// snapshot yet.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid: the request is malformed (remote modes check it).
	ErrInvalid = errors.New("invalid request")
	// ErrDenied: the router refused the credential (401 or 403).
	ErrDenied = errors.New("denied")
)

// Source says where a decision was made.
type Source string

// Decision sources.
const (
	SourceLocal Source = "local" // in-process, from the routing snapshot
	SourceHTTP  Source = "http"  // the router's resolve API
	SourceRedis Source = "redis" // decide.lua through EVALSHA
)

// ResolveOptions describe the request being routed. Maps are read, never
// kept or changed.
type ResolveOptions struct {
	// Key is the request's sticky key (a user or session id): splits and
	// consistent hashing keep one key on one version and instance.
	Key string
	// Headers are request headers that match rules or sticky sources may
	// name, with lower-case names (HeadersFrom converts an http.Header).
	Headers map[string]string
	// Attributes are request attributes (plan, beta, region, ...).
	Attributes map[string]string
	// Lane is the release lane the request travels in (lane.Lane.Name of
	// the incoming request; Transport sets it). Unless the tenant's
	// binding ignores lanes, a service that has a version of that name
	// with a usable instance serves the request with it; otherwise a
	// strict binding fails the decision (ErrNotFound without such a
	// version, ErrUnavailable without a usable instance) and a permissive
	// one (the default) decides as it would without a lane.
	Lane string
	// Avoid names an instance (Instance.ID) not to choose when the
	// version has another usable one; Transport sets it when it retries
	// after the connection to that instance failed.
	Avoid string
}

// HeadersFrom converts HTTP headers into ResolveOptions.Headers: names in
// lower case, the first value of each. It allocates; build it once per
// request, and only with the headers rules refer to when that matters.
func HeadersFrom(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out
}

// Instance is the outcome of a decision: which version serves the request
// and at which address, with what an outcome report needs later (Service,
// ID, Lease).
type Instance struct {
	Tenant  string
	Service string
	Version string
	ID      string
	Address string
	// Metadata is shared with the client's snapshot: read it, never
	// change it.
	Metadata map[string]string
	// Reason is "lane", "rule", "pin", "split_candidate",
	// "split_baseline" or "default".
	Reason string
	// Lane is the lane the request travels in after this hop: the lane it
	// came in (followed or not), else the version chosen when it is not
	// the service's default version, else "" (the baseline). Transport
	// sends it on as the lane of the next hop.
	Lane string
	// Revision is the routing configuration revision decided on: the
	// snapshot's in local mode, the service's projected table's remotely.
	Revision int64
	// Lease is set by remote least_connections decisions; pass it back
	// when reporting the call's outcome so that the lease is released.
	Lease string
	// Deprecated is set when the version is deprecated: still routed,
	// but worth noticing.
	Deprecated bool
	// Rule is the 1-based deciding rule and Bucket the sticky bucket of a
	// split (-1 when none); local decisions only.
	Rule, Bucket int
	Source       Source
}

// Client resolves service instances for tenants' requests, remotely (one
// round trip per decision) or locally (from a routing snapshot kept
// current in the background). Its methods are safe for concurrent use.
type Client struct {
	local  *local   // local mode
	remote resolver // remote modes
}

// resolver is a remote way of deciding.
type resolver interface {
	resolve(ctx context.Context, tenant, service string, opts ResolveOptions) (Instance, error)
	close()
}

// Resolve decides which version and instance of service serve this
// request of tenant. In local mode it is in-process and never blocks; in
// remote modes it makes one round trip, bounded by ctx.
func (c *Client) Resolve(ctx context.Context, tenant, service string, opts ResolveOptions) (Instance, error) {
	if c.local != nil {
		return c.local.resolve(tenant, service, opts)
	}
	return c.remote.resolve(ctx, tenant, service, opts)
}

// Staleness is how long the client has gone without the router confirming
// that its snapshot is current; 0 in remote modes. A long poll in progress
// counts as confirmation until its wait is over, since the router answers
// it as soon as anything changes.
func (c *Client) Staleness() time.Duration {
	if c.local == nil {
		return 0
	}
	return c.local.staleness(time.Now())
}

// Revision returns the revision of the snapshot decided on (0 before the
// first one, and in remote modes).
func (c *Client) Revision() int64 {
	if c.local == nil {
		return 0
	}
	if t := c.local.table.Load(); t != nil {
		return t.revision
	}
	return 0
}

// Close stops background work (the snapshot sync, pipelined Redis
// workers). Resolve keeps answering from the last snapshot afterwards.
func (c *Client) Close() {
	if c.local != nil {
		c.local.close()
	}
	if c.remote != nil {
		c.remote.close()
	}
}

// fromDecision converts a router decision into an Instance.
func fromDecision(tenant, service string, d routing.Decision, src Source) Instance {
	return Instance{Tenant: tenant, Service: service, Version: d.Version, ID: d.Instance.ID, Address: d.Instance.Address,
		Metadata: d.Instance.Metadata, Reason: d.Reason, Lane: d.Lane, Revision: d.Revision, Lease: d.Lease, Deprecated: d.Deprecated,
		Rule: -1, Bucket: -1, Source: src}
}

// sentinelFor maps a domain error code to the SDK's errors.
func sentinelFor(code apperr.Code) error {
	switch code {
	case apperr.NotFound:
		return ErrNotFound
	case apperr.Invalid, apperr.Unprocessable, apperr.TooLarge:
		return ErrInvalid
	case apperr.Unauthenticated, apperr.Forbidden:
		return ErrDenied
	}
	return ErrUnavailable
}
