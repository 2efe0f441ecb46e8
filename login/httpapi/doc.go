// Package httpapi serves the login service over HTTP: password login with
// tokens or a hardened session cookie, the OAuth 2 token, revocation and
// introspection endpoints, the JWKS and authorization-server metadata,
// self-service session management, and the tenant and platform admin API
// for users, machine clients, signing keys and the audit trail.
//
// It only decodes, authorizes, calls login.Service and encodes: every
// decision about credentials lives in package login. Its Authenticate
// middleware is shared by the other APIs of the binary.
//
// It adapts gin for the login domain and must not import gorm, go-redis or
// other adapters (the stores come in through login.Service).
package httpapi
