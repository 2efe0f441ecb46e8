package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/privilege/service"
)

// RevisionHeader carries a revision token: every write answers with it,
// and checks, permissions and who-can accept it to be answered from a
// policy set at least as fresh as that write.
const RevisionHeader = "X-Privilege-Revision"

// Config holds what New needs.
type Config struct {
	// Service answers checks and applies writes. Without it the routes
	// still authenticate and authorize, then answer 503 (route-table
	// tests need no service).
	Service *service.Service
	// TenantExists, when set, is asked before a tenant's policy set is
	// read or written by its administrators, so that a typo in a tenant
	// name is a 404 and not a new policy set. Checks do not ask it.
	TenantExists func(ctx context.Context, tenant string) error
	Log          *slog.Logger
	// Now is the time of permissions, who-can and simulations (default
	// time.Now).
	Now func() time.Time
}

// API serves the privilege service; register it with Routes.
type API struct {
	svc          *service.Service
	tenantExists func(ctx context.Context, tenant string) error
	log          *slog.Logger
	now          func() time.Time
}

// New returns an API.
func New(cfg Config) *API {
	a := &API{svc: cfg.Service, tenantExists: cfg.TenantExists, log: cfg.Log, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// fail writes err in the one JSON error shape.
func (a *API) fail(c *gin.Context, err error) { httpx.WriteError(c, a.log, err) }

// scope is the policy set a route works on: the path's tenant, or ""
// (the platform's roles and assignments) on the /api/v1/privilege routes.
func scope(c *gin.Context) string { return c.Param("tenant") }

// written answers a write: the stored record under key, the tenant's
// version after the write and its revision token, also in RevisionHeader.
func written(c *gin.Context, key string, record any, tok service.Token) {
	c.Header(RevisionHeader, tok.String())
	c.JSON(http.StatusOK, gin.H{key: record, "version": tok.Version, "revision": tok.String()})
}

// deleted answers a delete like written, with the record as it was.
func deleted(c *gin.Context, key string, record any, tok service.Token) {
	c.Header(RevisionHeader, tok.String())
	c.JSON(http.StatusOK, gin.H{key: record, "deleted": true, "version": tok.Version, "revision": tok.String()})
}

// revisionToken reads the token a read or check asks to be at least as
// fresh as: from RevisionHeader, or from the body (or query) value
// given; both must agree when both are given. nil when neither is.
func revisionToken(c *gin.Context, given string) (*service.Token, error) {
	h := c.GetHeader(RevisionHeader)
	switch {
	case h != "" && given != "" && h != given:
		return nil, &apperr.Error{Code: apperr.Invalid, Message: "the revision in the body and the " + RevisionHeader + " header differ",
			Details: map[string]string{"revision": "must equal the " + RevisionHeader + " header when both are given"}}
	case h == "" && given == "":
		return nil, nil
	case given == "":
		given = h
	}
	tok, err := service.ParseToken(given)
	if err != nil {
		return nil, err
	}
	return &tok, nil
}

// Page sizes of lists.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// limitQuery reads ?limit= (default 100, at most 1000).
func limitQuery(c *gin.Context) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidField("limit", "must be an integer between 1 and 1000")
	}
	return n, nil
}

// page is one page of a list in the shape every list answers:
// {"items": [...], "next": cursor}, next only when the page is full.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// pageOf cuts the page of limit items after the cursor from items, which
// are sorted by key; next is the key of the last item when the page is
// full.
func pageOf[T any](items []T, key func(T) string, after string, limit int) page[T] {
	out := page[T]{Items: []T{}}
	for _, it := range items {
		if after != "" && key(it) <= after {
			continue
		}
		if len(out.Items) == limit {
			break
		}
		out.Items = append(out.Items, it)
	}
	if len(out.Items) == limit {
		out.Next = key(out.Items[limit-1])
	}
	return out
}

// invalidField is a 400 naming the query or path parameter at fault.
func invalidField(field, problem string) error {
	return &apperr.Error{Code: apperr.Invalid, Message: field + " " + problem, Details: map[string]string{field: problem}}
}
