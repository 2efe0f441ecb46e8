package login

import (
	"runtime"
	"testing"
)

func benchHasher(b *testing.B, maxConcurrent int) *Hasher {
	b.Helper()
	h, err := NewHasher(DefaultPasswordParams(), maxConcurrent)
	if err != nil {
		b.Fatalf("new hasher: %v", err)
	}
	return h
}

// BenchmarkHash gives the argon2id time per hash with the default
// parameters; the login-throughput bar compares logins per second at
// saturation with GOMAXPROCS / that time. Run with
//
//	go test -run '^$' -bench 'Hash|Verify' -benchtime 50x ./login/
func BenchmarkHash(b *testing.B) {
	h := benchHasher(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := benchHasher(b, 1)
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
			b.Fatalf("verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkVerifyParallel saturates the hasher with one slot per core, the
// ceiling the login endpoint is measured against.
func BenchmarkVerifyParallel(b *testing.B) {
	h := benchHasher(b, runtime.GOMAXPROCS(0))
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
				b.Errorf("verify = %v, %v", ok, err)
				return
			}
		}
	})
}
