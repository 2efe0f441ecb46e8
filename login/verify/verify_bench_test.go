package verify

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/login"
)

// Benchmarks compare Verify with a bare golang-jwt parse of the same token
// under the same options (the target: first sight within 1.1x of it, a
// cache hit within 2 µs). Run with
//
//	go test -run '^$' -bench . ./login/verify/

var algs = []string{login.AlgEdDSA, login.AlgES256}

// benchFixture is a fixture on the real clock, so that the parser and the
// verifier pay for time.Now as they would in production.
func benchFixture(b *testing.B, cacheSize int) *fixture {
	b.Helper()
	f := newFixture(b, func(c *Config) { c.CacheSize = cacheSize; c.Now = time.Now })
	f.clock.t = time.Now()
	// A realistic revocation state: some of everything, none matching.
	exp := f.clock.Now().Add(15 * time.Minute)
	var rs []login.Revocation
	for i := range 1000 {
		n := strconv.Itoa(i)
		rs = append(rs,
			login.Revocation{Kind: login.RevokeSession, Subject: "s-" + n, ExpiresAt: exp},
			login.Revocation{Kind: login.RevokeSubject, Subject: "u-" + n + "x", Generation: 9, ExpiresAt: exp},
			login.Revocation{Kind: login.RevokeToken, Subject: "j-" + n, ExpiresAt: exp},
		)
	}
	f.revs.Apply(rs...)
	return f
}

func BenchmarkRawGolangJWT(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg, func(b *testing.B) {
			f := benchFixture(b, -1)
			tok := f.token(b, alg, f.claims())
			key, _ := f.keys.Key(context.Background(), f.header(alg)["kid"].(string))
			p := jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience),
				jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second), jwt.WithStrictDecoding())
			keyfunc := func(*jwt.Token) (any, error) { return key.Key, nil }
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.ParseWithClaims(tok, &login.AccessClaims{}, keyfunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyFirstSight(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg+"/no-cache", func(b *testing.B) {
			f := benchFixture(b, -1)
			tok := f.token(b, alg, f.claims())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Every token new to a cache that keeps evicting: parse, crypto,
		// and the cost of inserting (cloning the token, evicting).
		b.Run(alg+"/evicting-cache", func(b *testing.B) {
			f := benchFixture(b, 256)
			toks := make([]string, 4096)
			for i := range toks {
				toks[i] = f.token(b, alg, f.claims())
			}
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Verify(ctx, toks[i%len(toks)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkFirstSightRatio interleaves a bare golang-jwt parse and an
// uncached Verify of the same token (ABBA order, so that noise on a shared
// machine hits both alike) and reports Verify's time as a multiple of the
// parse's: the 1.1x target is about this number.
func BenchmarkFirstSightRatio(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg, func(b *testing.B) {
			f := benchFixture(b, -1)
			tok := f.token(b, alg, f.claims())
			key, _ := f.keys.Key(context.Background(), f.header(alg)["kid"].(string))
			p := jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience),
				jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second), jwt.WithStrictDecoding())
			keyfunc := func(*jwt.Token) (any, error) { return key.Key, nil }
			ctx := context.Background()
			raw := func() time.Duration {
				start := time.Now()
				if _, err := p.ParseWithClaims(tok, &login.AccessClaims{}, keyfunc); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			ours := func() time.Duration {
				start := time.Now()
				if _, err := f.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			var rawTotal, oursTotal time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					rawTotal += raw()
					oursTotal += ours()
				} else {
					oursTotal += ours()
					rawTotal += raw()
				}
				i++
			}
			b.ReportMetric(float64(oursTotal)/float64(rawTotal), "x-raw")
		})
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg, func(b *testing.B) {
			f := benchFixture(b, 0)
			tok := f.token(b, alg, f.claims())
			ctx := context.Background()
			if _, err := f.v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		f := benchFixture(b, 0)
		toks := make([]string, 64)
		for i := range toks {
			toks[i] = f.token(b, login.AlgEdDSA, f.claims())
		}
		ctx := context.Background()
		for _, tok := range toks {
			if _, err := f.v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := f.v.Verify(ctx, toks[i%len(toks)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

func BenchmarkRevoked(b *testing.B) {
	f := benchFixture(b, -1)
	c := f.claims()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, revoked := f.revs.Revoked(c, now); revoked {
			b.Fatal("revoked")
		}
	}
}
