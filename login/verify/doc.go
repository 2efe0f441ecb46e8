// Package verify checks greyrouter access tokens wherever a request
// arrives: in the login service itself, in the router, and in services
// that embed the SDK. A Verifier accepts a token only when its signature,
// algorithm, key, type, issuer, audience and times are right and no
// revocation names it; it remembers verified tokens so that a repeat costs
// a map lookup instead of a signature check.
//
// Keys come from a KeySource: in the login service its own *login.KeyRing,
// anywhere else a JWKS client that fetches the published key set.
// Revocations arrive through a Source (login.RevocationFeed satisfies it)
// and are held in memory.
//
// The SDK imports this package, so it must not import gin, gorm or go-redis
// (nor any other adapter); it depends on the login domain types only.
package verify
