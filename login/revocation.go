package login

import (
	"context"
	"time"
)

// RevocationKind says what a revocation rejects.
type RevocationKind string

// Kinds of revocation. Each rejects access tokens that are otherwise valid
// (signature, expiry, issuer and audience all fine):
const (
	// RevokeSubject rejects the tokens of Subject (a user or client id)
	// whose gen claim is below Generation: password change, disable,
	// "log out everywhere".
	RevokeSubject RevocationKind = "subject"
	// RevokeSession rejects the tokens whose sid claim is Subject: logout,
	// session revoke, refresh-token reuse.
	RevokeSession RevocationKind = "session"
	// RevokeToken rejects the one token whose jti claim is Subject
	// (RFC 7009 revocation of an access token).
	RevokeToken RevocationKind = "token"
)

// Revocation is one revocation event. Events are published to every
// verifier (see RevocationFeed) and kept in the database so that they can
// be published again if Redis loses them. An event matters only until
// ExpiresAt: by then every token it could reject has expired on its own,
// so verifiers forget it and stores delete it.
type Revocation struct {
	Kind       RevocationKind `json:"kind"`
	Subject    string         `json:"subject"`
	Generation int64          `json:"generation,omitempty"` // RevokeSubject only
	Tenant     string         `json:"tenant,omitempty"`
	Reason     string         `json:"reason,omitempty"` // logout, password_change, disabled, ...
	At         time.Time      `json:"at"`
	ExpiresAt  time.Time      `json:"expires_at"`
}

// RevocationFeed distributes revocation events to verifiers in every
// process (on Redis: a stream trimmed by expiry plus a pub/sub
// notification, see login/redisstore).
type RevocationFeed interface {
	// Publish appends the events and notifies subscribers.
	Publish(ctx context.Context, rs ...Revocation) error
	// Read returns up to limit events published after cursor ("" for the
	// oldest retained) and the cursor of the last one returned (cursor
	// itself when there are none).
	Read(ctx context.Context, cursor string, limit int) ([]Revocation, string, error)
}

// RevocationStore keeps revocation events durably.
type RevocationStore interface {
	// AddRevocation records an event.
	AddRevocation(ctx context.Context, r Revocation) error
	// ActiveRevocations returns the events that still matter at now,
	// oldest first.
	ActiveRevocations(ctx context.Context, now time.Time) ([]Revocation, error)
	// PruneRevocations deletes the events that no longer matter at now.
	PruneRevocations(ctx context.Context, now time.Time) (int, error)
}
