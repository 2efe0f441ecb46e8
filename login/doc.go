// Package login is the user login domain: tenant-scoped users and platform
// administrators, password credentials, sessions, access and refresh
// tokens, machine clients, and revocation.
//
//   - password.go, phc.go, policy.go: argon2id in PHC encoding with the
//     parameters beside the hash, rehash detection, a bounded number of
//     concurrent computations, a dummy verification for unknown users; the
//     policy for new passwords.
//   - user.go, userstore.go, client.go: users, machine clients and the
//     store interfaces (gorm adapter in login/sqlstore, contract suite in
//     login/storetest).
//   - authenticate.go: one answer and one argon2id verification for
//     unknown users, wrong passwords and inactive users; throttling that
//     fails closed (Redis limiter in login/redisstore); audit events.
//   - session.go, credentials.go: sessions and the opaque session
//     credentials and refresh tokens that prove them (Redis adapter in
//     login/redisstore).
//   - keys.go, keyring.go, token.go, claims.go: signing keys sealed in the
//     database, rotation with overlap, JWKS, access-token issuing.
//   - revocation.go: revocation events, recorded in the database and
//     published to every verifier (login/verify) through a Redis feed.
//   - service.go: the Service tying these together (login, refresh,
//     logout, log out everywhere, password change, disable, client
//     credentials, RFC 7009 revocation, RFC 7662 introspection).
//   - auditlog.go: the asynchronous, bounded writer of the audit trail.
//
// The HTTP API is in login/httpapi.
//
// Like router, this package must not import gin, gorm, go-redis or nacos;
// adapters belong in sub-packages.
package login
