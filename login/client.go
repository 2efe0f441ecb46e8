package login

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// Client is a machine credential: a service authenticates with its client
// id and secret (OAuth 2 client credentials) and receives a short-lived
// access token for its tenant. Only the SHA-256 of the 256-bit secret is
// stored; the secret is shown once, at creation or rotation.
type Client struct {
	ID         string     `json:"id"` // "gc-" + 32 hex characters
	Tenant     string     `json:"tenant,omitempty"`
	Name       string     `json:"name"`
	Status     UserStatus `json:"status"` // active or disabled
	Platform   bool       `json:"platform"`
	Admin      bool       `json:"admin"`
	SecretHash string     `json:"-"`
	// Generation is bumped on secret rotation and disable, revoking every
	// token issued before (see RevokeSubject).
	Generation int64     `json:"generation"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var clientIDRE = regexp.MustCompile(`^gc-[0-9a-f]{32}$`)

// NewClientID returns a new random client id.
func NewClientID() string { return "gc-" + NewSessionID() }

// ValidClientID reports whether s has the shape of a client id.
func ValidClientID(s string) bool { return clientIDRE.MatchString(s) }

// Validate checks a client's fields, reporting every problem per field.
func (c Client) Validate() error {
	p := map[string]string{}
	if !ValidClientID(c.ID) {
		p["id"] = "must be gc- and 32 hex characters"
	}
	switch {
	case c.Platform && c.Tenant != "":
		p["tenant"] = "must be empty for a platform client"
	case !c.Platform && !router.ValidName(c.Tenant):
		p["tenant"] = "must name a tenant"
	}
	if c.Name == "" || len(c.Name) > MaxDisplayNameLen || !utf8.ValidString(c.Name) {
		p["name"] = fmt.Sprintf("must be 1-%d bytes of UTF-8", MaxDisplayNameLen)
	}
	if !slices.Contains([]UserStatus{UserActive, UserDisabled}, c.Status) {
		p["status"] = "must be active or disabled"
	}
	if len(c.SecretHash) != 64 {
		p["secret_hash"] = "must be a hex SHA-256"
	}
	return apperr.Fields("invalid client", p)
}

// ClientStore keeps machine clients. Listing is per tenant; lookups by id
// return the client whatever its tenant, and the caller checks the tenant.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context, tenant string) ([]Client, error)
	// UpdateClient replaces name, status, admin, secret hash, generation
	// and updated time of the client with c.ID in c.Tenant.
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, tenant, id string) error
}

// AuditQuery selects audit events, newest first. Tenant "" with
// AllTenants false selects platform events only.
type AuditQuery struct {
	Tenant     string
	AllTenants bool
	UserID     string
	Kind       string
	Before     string // an event id: only events older than it (pagination)
	Limit      int
}

// AuditStore keeps audit events durably.
type AuditStore interface {
	// AddAuditEvents stores events, assigning each an id that sorts by
	// time.
	AddAuditEvents(ctx context.Context, es []AuditEvent) error
	ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}
