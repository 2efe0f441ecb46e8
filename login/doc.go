// Package login will hold the user login domain: tenant-scoped users,
// password credentials, Redis sessions, JWT access tokens, refresh tokens
// and revocation (see the login issue). Nothing is implemented yet.
//
// Like router, it must not import gin, gorm, go-redis or nacos; adapters
// belong in sub-packages.
package login
