package login

import "testing"

// FuzzParseCredential checks that parsing never panics, accepts one
// spelling per credential (it prints back byte for byte) and never accepts
// a credential as the other kind.
func FuzzParseCredential(f *testing.F) {
	f.Add(NewCredential(SessionCredential, "u-1", NewSessionID()).String())
	f.Add(NewCredential(RefreshToken, "0123abcd", NewSessionID()).String())
	f.Add("gs1....")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.sig")
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []CredentialKind{SessionCredential, RefreshToken} {
			c, ok := ParseCredential(s, kind)
			if !ok {
				continue
			}
			if c.Kind != kind || c.String() != s {
				t.Fatalf("ParseCredential(%q, %d) = %+v, which prints as %q", s, kind, c, c.String())
			}
			if _, other := ParseCredential(s, 3-kind); other {
				t.Fatalf("%q parses as both kinds", s)
			}
		}
	})
}
