package auth

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
)

// principalKey is the context key of the authenticated principal.
type principalKey struct{}

// principalCtx is ctx carrying a principal. It is context.WithValue in
// one allocation instead of two (the value context and the boxed
// principal), on every authenticated request. Cancellation and other
// values come from the embedded parent.
type principalCtx struct {
	context.Context
	p login.Principal
}

func (c *principalCtx) Value(key any) any {
	if key == (principalKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// NewContext returns ctx carrying p, as the middleware does for a request
// it admits. Services use it in their own tests to call handlers as a
// principal without a token.
func NewContext(ctx context.Context, p login.Principal) context.Context {
	return &principalCtx{Context: ctx, p: p}
}

// FromContext returns the principal the middleware verified for the
// request whose context ctx is. A *gin.Context works too: its request's
// context is read.
func FromContext(ctx context.Context) (login.Principal, bool) {
	if c, ok := ctx.(*gin.Context); ok {
		if c.Request == nil {
			return login.Principal{}, false
		}
		ctx = c.Request.Context()
	}
	if ctx == nil {
		return login.Principal{}, false
	}
	c, ok := ctx.Value(principalKey{}).(*principalCtx)
	if !ok {
		return login.Principal{}, false
	}
	return c.p, true
}

// FromGin returns the principal the middleware verified for the request
// of c.
func FromGin(c *gin.Context) (login.Principal, bool) {
	if c == nil {
		return login.Principal{}, false
	}
	return FromContext(c)
}
