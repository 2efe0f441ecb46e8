package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// BenchmarkUseSession measures one authenticated request's session check
// (one EVALSHA on a private standalone Redis), serially and from 16
// concurrent callers. It skips without redis-server.
func BenchmarkUseSession(b *testing.B) {
	st := redisstore.NewSessions(testutil.Redis(b).Client(b))
	ctx := context.Background()
	is := newSession(login.NewUserID(), time.Now())
	if _, err := st.CreateSession(ctx, is.s, is.secretHash, is.rtHash, 0); err != nil {
		b.Fatalf("CreateSession: %v", err)
	}
	useNow := func() error {
		_, err := st.UseSession(ctx, is.s.UserID, is.s.ID, is.secretHash, time.Now(), idle)
		return err
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := useNow(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := useNow(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
