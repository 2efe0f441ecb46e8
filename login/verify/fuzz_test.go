package verify

import (
	"context"
	"testing"

	"github.com/greyrouter/greyrouter/login"
)

// FuzzVerify feeds mutations of a good token to the verifier: none may
// panic, and none but the good token itself may be accepted (an Ed25519
// signature covers every byte, and strict decoding admits one encoding).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.token(f, login.AlgEdDSA, fx.claims())
	es := fx.token(f, login.AlgES256, fx.claims())
	f.Add(good)
	f.Add(es)
	f.Add("")
	f.Add("a.b.c")
	f.Add(good + "=")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := fx.v.Verify(context.Background(), token)
		if err == nil && token != good && token != es {
			t.Fatalf("accepted a token that was never issued: %q (principal %+v)", token, p)
		}
	})
}
