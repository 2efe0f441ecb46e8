package service_test

import (
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege/service"
)

func TestTokensRoundTripAndRejectEverythingElse(t *testing.T) {
	for _, tok := range []service.Token{{Tenant: "acme", Version: 7, PlatformVersion: 2}, {Version: 3, PlatformVersion: 3}} {
		got, err := service.ParseToken(tok.String())
		if err != nil || got != tok {
			t.Fatalf("round trip of %+v: %+v, %v", tok, got, err)
		}
	}
	for _, bad := range []string{"", "pv1", "pv1.1.2", "pv2.1.2.acme", "pv1.-1.2.acme", "pv1.1.x.acme", "pv1.1.2.Acme!", "pv1.99999999999999999999.2.acme", "pv1.01.2.acme", "pv1.+1.2.acme"} {
		if _, err := service.ParseToken(bad); !apperr.Is(err, apperr.Unprocessable) {
			t.Errorf("ParseToken(%q) = %v, want a 422", bad, err)
		}
	}
}

// FuzzParseToken: any accepted token renders back to exactly its input,
// so two spellings can never name one version (or one spelling two).
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"pv1.1.2.acme", "pv1.0.0.", "pv1.9.9.a-b_c.d", "pv1.01.2.acme", "pv1.+1.2.acme"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := service.ParseToken(s)
		if err != nil {
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		if tok.String() != s {
			t.Fatalf("%q parsed to %+v, which renders as %q", s, tok, tok.String())
		}
	})
}
