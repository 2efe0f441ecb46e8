package privilege

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/httperr"
	"github.com/greyrouter/greyrouter/login"
)

// ResourceFunc takes the resource of a check (its name and the
// attributes ABAC policies read) and the env.* attributes from a request.
// An error rejects the request with 400.
type ResourceFunc func(r *http.Request) (Resource, map[string]any, error)

// GinResourceFunc is ResourceFunc for gin, where route parameters live.
type GinResourceFunc func(c *gin.Context) (Resource, map[string]any, error)

// GuardOption adjusts one middleware.
type GuardOption func(*guard)

// FailOpen admits requests that would fail closed because greyrouter is
// unreachable and no cached answer applies. Every such admission is
// logged as a warning. Denials are never overridden.
func FailOpen() GuardOption { return func(g *guard) { g.failOpen = true } }

// WithSubjectAttributes supplies subject.* attributes for ABAC policies
// (a department, a clearance) from the request and its principal.
func WithSubjectAttributes(fn func(r *http.Request, p login.Principal) map[string]any) GuardOption {
	return func(g *guard) { g.subject = fn }
}

// guard is one middleware's requirement.
type guard struct {
	c        *Client
	action   string
	resource string
	failOpen bool
	subject  func(*http.Request, login.Principal) map[string]any
}

func (c *Client) guard(resource, action string, opts []GuardOption) *guard {
	g := &guard{c: c, action: action, resource: resource}
	for _, o := range opts {
		o(g)
	}
	return g
}

// RequirePermission returns net/http middleware that lets a request
// through only when its principal (put in the context by sdk/auth's
// middleware, which must run first) may do action on resource in the
// principal's tenant. Otherwise it answers 403 with greyrouter's JSON
// error, naming the decision id and reason; 401 without a principal.
// When greyrouter is unreachable it answers from cached decisions and
// fails closed for the rest (see FailOpen).
func (c *Client) RequirePermission(resource, action string, opts ...GuardOption) func(http.Handler) http.Handler {
	g := c.guard(resource, action, opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status, e := g.decide(r.Context(), r, Resource{Name: g.resource}, nil); status != 0 {
				writeError(w, status, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequirePermissionFunc is RequirePermission for a resource (and env
// attributes) taken from each request, e.g. an order's name and owner,
// for ABAC policies.
func (c *Client) RequirePermissionFunc(action string, resource ResourceFunc, opts ...GuardOption) func(http.Handler) http.Handler {
	g := c.guard("", action, opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, env, err := resource(r)
			if err != nil {
				writeError(w, http.StatusBadRequest, &errorDoc{Code: "invalid", Message: err.Error()})
				return
			}
			if status, e := g.decide(r.Context(), r, res, env); status != 0 {
				writeError(w, status, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// GinRequirePermission is RequirePermission for gin; sdk/auth's Gin
// middleware must run first.
func (c *Client) GinRequirePermission(resource, action string, opts ...GuardOption) gin.HandlerFunc {
	g := c.guard(resource, action, opts)
	return func(ctx *gin.Context) {
		if status, e := g.decide(ctx.Request.Context(), ctx.Request, Resource{Name: g.resource}, nil); status != 0 {
			writeError(ctx.Writer, status, e)
			ctx.Abort()
			return
		}
		ctx.Next()
	}
}

// GinRequirePermissionFunc is RequirePermissionFunc for gin.
func (c *Client) GinRequirePermissionFunc(action string, resource GinResourceFunc, opts ...GuardOption) gin.HandlerFunc {
	g := c.guard("", action, opts)
	return func(ctx *gin.Context) {
		res, env, err := resource(ctx)
		if err != nil {
			writeError(ctx.Writer, http.StatusBadRequest, &errorDoc{Code: "invalid", Message: err.Error()})
			ctx.Abort()
			return
		}
		if status, e := g.decide(ctx.Request.Context(), ctx.Request, res, env); status != 0 {
			writeError(ctx.Writer, status, e)
			ctx.Abort()
			return
		}
		ctx.Next()
	}
}

// decide checks the request's principal against the guard: status 0
// admits, anything else rejects with the error document.
func (g *guard) decide(ctx context.Context, r *http.Request, res Resource, env map[string]any) (int, *errorDoc) {
	p, ok := g.c.o.Principal(ctx)
	if !ok {
		return http.StatusUnauthorized, &errorDoc{Code: "unauthenticated", Message: "authentication required"}
	}
	if p.Tenant == "" {
		return http.StatusForbidden, &errorDoc{Code: "forbidden", Message: "not allowed: the principal belongs to no tenant"}
	}
	req := Request{Tenant: p.Tenant, Subject: Subject{ID: p.Subject}, Action: g.action, Resource: res, Env: env}
	if g.subject != nil {
		req.Subject.Attributes = g.subject(r, p)
	}
	d, err := g.c.Check(ctx, req, CheckOptions{})
	switch {
	case err == nil && d.Allowed:
		return 0, nil
	case err == nil && d.Tier == TierFailClosed && g.failOpen:
		g.c.o.Log.Warn("privilege: request admitted without a decision (fail open): greyrouter unreachable and nothing cached",
			"tenant", req.Tenant, "subject", req.Subject.ID, "action", req.Action, "resource", req.Resource.Name, "method", r.Method, "path", r.URL.Path)
		return 0, nil
	case err == nil:
		details := map[string]string{"reason": d.Reason}
		if d.ID != "" {
			details["decision_id"] = d.ID
		}
		return http.StatusForbidden, &errorDoc{Code: "forbidden", Message: "not allowed", Details: details}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return 499, &errorDoc{Code: "canceled", Message: "the client closed the request"} // nginx's "client closed request"
	}
	// The check could not be asked: a misconfiguration (credentials, a
	// client of another tenant) or the caller's deadline. Fail closed.
	g.c.o.Log.Error("privilege: check failed; request denied", "tenant", req.Tenant, "subject", req.Subject.ID,
		"action", req.Action, "resource", req.Resource.Name, "err", err)
	return http.StatusForbidden, &errorDoc{Code: "forbidden", Message: "not allowed: the privilege check failed",
		Details: map[string]string{"reason": "the privilege check failed"}}
}

// errorDoc is greyrouter's one JSON error shape (internal/httperr).
type errorDoc = httperr.Doc

func writeError(w http.ResponseWriter, status int, e *errorDoc) { httperr.Write(w, status, *e) }
