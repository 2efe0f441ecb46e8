package redisstore_test

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

func TestPolicyValidate(t *testing.T) {
	ok := redisstore.Policy{Window: time.Second, MaxFailures: 1, BaseLockout: time.Millisecond, MaxLockout: time.Millisecond}
	tests := []struct {
		name  string
		edit  func(*redisstore.Policy)
		field string // "" when valid
	}{
		{"the smallest policy is valid", func(*redisstore.Policy) {}, ""},
		{"a window under a millisecond is refused", func(p *redisstore.Policy) { p.Window = time.Microsecond }, "window"},
		{"zero failures are refused", func(p *redisstore.Policy) { p.MaxFailures = 0 }, "max_failures"},
		{"a zero base lockout is refused", func(p *redisstore.Policy) { p.BaseLockout = 0 }, "base_lockout"},
		{"a cap below the base lockout is refused", func(p *redisstore.Policy) { p.MaxLockout = p.BaseLockout / 2 }, "max_lockout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", p, err)
				}
				return
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("Validate(%+v) = %v, want an invalid error", p, err)
			}
			if _, ok := apperr.DetailsOf(err)[tt.field]; !ok {
				t.Errorf("Validate(%+v) details = %v, want a problem with %q", p, apperr.DetailsOf(err), tt.field)
			}
		})
	}
}

func TestDefaultPoliciesAreValid(t *testing.T) {
	for name, p := range map[string]redisstore.Policy{"account": redisstore.AccountPolicy(), "ip": redisstore.IPPolicy()} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s policy %+v: %v", name, p, err)
		}
	}
	if a, ip := redisstore.AccountPolicy(), redisstore.IPPolicy(); ip.MaxFailures <= a.MaxFailures {
		t.Errorf("IP policy allows %d failures, account %d: an address shared by many users must allow more", ip.MaxFailures, a.MaxFailures)
	}
}
