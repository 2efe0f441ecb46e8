package login

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
)

// Opaque credentials. A session credential (the web UI's cookie, or a
// bearer for API clients that prefer sessions) and a refresh token name the
// session they belong to and carry a 256-bit secret:
//
//	gs1.<user id>.<session id>.<secret>   session credential
//	gr1.<user id>.<session id>.<secret>   refresh token
//
// The user id puts every key of the user's sessions in one Redis Cluster
// hash slot; the session id is public (it is the sid claim of access
// tokens); the secret is 43 characters of unpadded base64url. Only the
// SHA-256 of the secret is stored, so a dump of Redis reveals no usable
// credential. The distinct prefixes keep one kind from being accepted as
// another, and neither has the two dots of a JWT.
const (
	sessionCredentialPrefix = "gs1"
	refreshTokenPrefix      = "gr1"
)

// CredentialKind says what an opaque credential is.
type CredentialKind int

// Kinds of opaque credentials.
const (
	SessionCredential CredentialKind = iota + 1
	RefreshToken
)

// Credential is a parsed opaque credential.
type Credential struct {
	Kind      CredentialKind
	UserID    string
	SessionID string
	Secret    string
}

var (
	credentialRE = regexp.MustCompile(`^(gs1|gr1)\.([a-z0-9-]{1,64})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$`)
	sessionIDRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// String returns the credential's wire form.
func (c Credential) String() string {
	prefix := sessionCredentialPrefix
	if c.Kind == RefreshToken {
		prefix = refreshTokenPrefix
	}
	return strings.Join([]string{prefix, c.UserID, c.SessionID, c.Secret}, ".")
}

// Hash returns the stored form of the credential's secret.
func (c Credential) Hash() string { return HashSecret(c.Secret) }

// ParseCredential parses an opaque credential of the given kind; anything
// else (another kind, a JWT, garbage) reports false.
func ParseCredential(s string, kind CredentialKind) (Credential, bool) {
	m := credentialRE.FindStringSubmatch(s)
	if m == nil {
		return Credential{}, false
	}
	c := Credential{Kind: SessionCredential, UserID: m[2], SessionID: m[3], Secret: m[4]}
	if m[1] == refreshTokenPrefix {
		c.Kind = RefreshToken
	}
	if c.Kind != kind {
		return Credential{}, false
	}
	return c, true
}

// NewCredential returns a credential of the kind for the session with a
// fresh secret.
func NewCredential(kind CredentialKind, userID, sessionID string) Credential {
	return Credential{Kind: kind, UserID: userID, SessionID: sessionID, Secret: NewSecret()}
}

// NewSecret returns 256 random bits as 43 characters of unpadded base64url.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program rather than return an error
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewSessionID returns a new public session id: 128 random bits in hex.
func NewSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidSessionID reports whether s has the shape of a session id.
func ValidSessionID(s string) bool { return sessionIDRE.MatchString(s) }

// HashSecret returns the lower-case hex SHA-256 of a secret. A fast hash is
// right here: the secrets are 256-bit random, not passwords.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
