package verify

import (
	"context"

	"github.com/greyrouter/greyrouter/login"
)

// KeySource returns the verification key with a kid. An unknown kid is an
// error of code NotFound; a source that cannot answer right now (its key
// server is down) returns code Unavailable, which the Verifier passes on.
type KeySource interface {
	Key(ctx context.Context, kid string) (login.PublicKey, error)
}

// KeySourceFunc adapts a function to KeySource, for key sources that are
// neither the login service's own *login.KeyRing (a KeySource itself) nor
// a JWKS, such as fixed keys in tests.
type KeySourceFunc func(ctx context.Context, kid string) (login.PublicKey, error)

// Key calls f.
func (f KeySourceFunc) Key(ctx context.Context, kid string) (login.PublicKey, error) {
	return f(ctx, kid)
}

var (
	_ KeySource = (*login.KeyRing)(nil)
	_ KeySource = (*JWKS)(nil)
)
