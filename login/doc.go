// Package login is the user login domain: tenant-scoped users, password
// credentials, sessions, access and refresh tokens, and revocation (see the
// login issue).
//
// Built so far:
//   - password hashing (password.go): argon2id in PHC encoding with the
//     parameters stored beside the hash, rehash detection, a bounded number
//     of concurrent computations, a dummy verification for unknown users;
//   - the password policy for new passwords (policy.go);
//   - users (user.go: tenant-scoped, or platform administrators) and the
//     UserStore interface (userstore.go), with the gorm adapter in
//     login/sqlstore and its contract suite in login/storetest;
//   - in login/redisstore, the failure limiter for accounts and client IPs
//     (a sliding window with growing lockouts, one atomic Lua call per
//     subject, Cluster-safe) and the Throttle built on it;
//   - the Authenticator (authenticate.go): one answer and one argon2id
//     verification for unknown users, wrong passwords and inactive users,
//     throttling that fails closed, rehash on login, audit events.
//
// Still to build: the admin API for users, the HTTP login endpoint and a
// durable audit sink, Redis
// sessions, JWT access tokens with signing-key rotation and JWKS, refresh
// token rotation with reuse detection, revocation with pub/sub propagation,
// and the verifier package.
//
// Like router, this package must not import gin, gorm, go-redis or nacos;
// adapters belong in sub-packages.
package login
