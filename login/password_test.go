package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// cheapParams keep tests fast; only newHasherUnchecked accepts them.
var cheapParams = PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func cheapHasher(t *testing.T, p PasswordParams, maxConcurrent int) *Hasher {
	t.Helper()
	h, err := newHasherUnchecked(p, maxConcurrent)
	if err != nil {
		t.Fatalf("new hasher: %v", err)
	}
	return h
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	h, err := NewHasher(DefaultPasswordParams(), 1)
	if err != nil {
		t.Fatalf("new hasher: %v", err)
	}
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("hash: %v", err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Fatalf("encoded %q does not start with %q", encoded, want)
	}
	ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", encoded)
	if !ok || rehash || err != nil {
		t.Fatalf("verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestVerify(t *testing.T) {
	h := cheapHasher(t, cheapParams, 2)
	stronger := cheapParams
	stronger.Time = 2
	tests := []struct {
		name       string
		hashedWith PasswordParams
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{"the right password matches", cheapParams, "s3cret-pass", true, false},
		{"a wrong password does not match", cheapParams, "s3cret-pasS", false, false},
		{"an empty password does not match", cheapParams, "", false, false},
		{"a hash made with other parameters asks for a rehash", stronger, "s3cret-pass", true, true},
		{"a wrong password never asks for a rehash", stronger, "wrong", false, false},
		{"an over-long password is a failed check", cheapParams, strings.Repeat("x", MaxPasswordBytes+1), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := cheapHasher(t, tt.hashedWith, 1).Hash(t.Context(), "s3cret-pass")
			if err != nil {
				t.Fatalf("hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), tt.password, encoded)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if ok != tt.wantOK || rehash != tt.wantRehash {
				t.Fatalf("verify = ok %v, rehash %v; want %v, %v", ok, rehash, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

func TestHashSaltsEveryHash(t *testing.T) {
	h := cheapHasher(t, cheapParams, 1)
	a, _ := h.Hash(t.Context(), "same password")
	b, _ := h.Hash(t.Context(), "same password")
	if a == b || a == "" {
		t.Fatalf("two hashes of one password are %q and %q; want distinct", a, b)
	}
}

func TestOverLongPasswords(t *testing.T) {
	h := cheapHasher(t, cheapParams, 1)
	var computations atomic.Int64
	h.afterAcquire = func() { computations.Add(1) }
	long := strings.Repeat("é", MaxPasswordBytes) // 2 bytes each

	t.Run("hashing is rejected before any work", func(t *testing.T) {
		_, err := h.Hash(t.Context(), long)
		if !apperr.Is(err, apperr.Unprocessable) || apperr.DetailsOf(err)["password"] == "" {
			t.Fatalf("hash error = %v; want unprocessable with a password detail", err)
		}
		if n := computations.Load(); n != 0 {
			t.Fatalf("%d computations ran; want none", n)
		}
	})
	t.Run("verifying still burns one dummy computation", func(t *testing.T) {
		computations.Store(0)
		ok, rehash, err := h.Verify(t.Context(), long, "not even a hash")
		if ok || rehash || err != nil {
			t.Fatalf("verify = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
		if n := computations.Load(); n != 1 {
			t.Fatalf("%d computations ran; want 1", n)
		}
	})
}

func TestVerifyRejectsMalformedStoredHash(t *testing.T) {
	h := cheapHasher(t, cheapParams, 1)
	ok, _, err := h.Verify(t.Context(), "password", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	if ok || !apperr.Is(err, apperr.Internal) || !errors.Is(err, errMalformedHash) {
		t.Fatalf("verify = %v, %v; want false and an internal malformed-hash error", ok, err)
	}
}

func TestNewHasherEnforcesTheFloor(t *testing.T) {
	weaker := func(f func(*PasswordParams)) PasswordParams {
		p := DefaultPasswordParams()
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		params PasswordParams
		n      int
		ok     bool
	}{
		{"the defaults are accepted", DefaultPasswordParams(), 4, true},
		{"more memory and time are accepted", weaker(func(p *PasswordParams) { p.MemoryKiB, p.Time = 64*1024, 3 }), 4, true},
		{"less memory is rejected", weaker(func(p *PasswordParams) { p.MemoryKiB = 19455 }), 4, false},
		{"a single pass is rejected", weaker(func(p *PasswordParams) { p.Time = 1 }), 4, false},
		{"zero threads are rejected", weaker(func(p *PasswordParams) { p.Threads = 0 }), 4, false},
		{"a short key is rejected", weaker(func(p *PasswordParams) { p.KeyLen = 16 }), 4, false},
		{"a short salt is rejected", weaker(func(p *PasswordParams) { p.SaltLen = 8 }), 4, false},
		{"more than 1 GiB of memory is rejected", weaker(func(p *PasswordParams) { p.MemoryKiB = 1<<20 + 1 }), 4, false},
		{"more than 20 passes are rejected", weaker(func(p *PasswordParams) { p.Time = 21 }), 4, false},
		{"more than 16 threads are rejected", weaker(func(p *PasswordParams) { p.Threads = 17 }), 4, false},
		{"a key over 64 bytes is rejected", weaker(func(p *PasswordParams) { p.KeyLen = 65 }), 4, false},
		{"a salt over 64 bytes is rejected", weaker(func(p *PasswordParams) { p.SaltLen = 65 }), 4, false},
		{"zero concurrency is rejected", DefaultPasswordParams(), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHasher(tt.params, tt.n)
			if tt.ok != (err == nil) {
				t.Fatalf("NewHasher error = %v; want ok %v", err, tt.ok)
			}
			if err != nil && !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error %v is not invalid", err)
			}
		})
	}
}

func TestConcurrentComputationsAreBounded(t *testing.T) {
	h := cheapHasher(t, cheapParams, 2)
	var peak atomic.Int64
	release := make(chan struct{})
	h.afterAcquire = func() {
		n := h.running.Load()
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := h.Hash(t.Context(), "flood")
			errs <- err
		})
	}
	// With two slots held and blocked, the other six must be queued, not running.
	waitFor(t, "two run and six queue", func() bool { return h.running.Load() == 2 && h.queued.Load() == 6 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("hash: %v", err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d; want 2", p)
	}
}

func TestCancelledCallersDoNotWait(t *testing.T) {
	h := cheapHasher(t, cheapParams, 1)
	release := make(chan struct{})
	h.afterAcquire = func() { <-release }
	first := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "holder")
		first <- err
	}()
	waitFor(t, "the only slot is taken", func() bool { return h.running.Load() == 1 })

	t.Run("a queued caller whose context ends gets unavailable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		second := make(chan error, 1)
		go func() {
			_, _, err := h.Verify(ctx, "waiter", h.dummy)
			second <- err
		}()
		waitFor(t, "the second caller queues", func() bool { return h.queued.Load() == 1 })
		cancel()
		select {
		case err := <-second:
			if !apperr.Is(err, apperr.Unavailable) || !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v; want unavailable caused by cancellation", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a cancelled caller stayed queued")
		}
	})
	t.Run("a caller whose context already ended does not queue", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := h.VerifyDummy(ctx, "late"); !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("error = %v; want unavailable", err)
		}
	})

	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the holder failed: %v", err)
	}
	if q := h.queued.Load(); q != 0 {
		t.Fatalf("%d callers still counted as queued", q)
	}
}

func TestVerifyDummyCostsAsMuchAsVerify(t *testing.T) {
	// Cheap enough to run often, costly enough that argon2 dominates.
	p := PasswordParams{MemoryKiB: 4096, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	h := cheapHasher(t, p, 1)
	encoded, err := h.Hash(t.Context(), "real password")
	if err != nil {
		t.Fatalf("hash: %v", err)
	}
	timed := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	// A dummy that skipped the work would be a hundred times faster on
	// every attempt; a loaded machine only skews one attempt now and then.
	var last string
	for range 3 {
		var real, dummy []time.Duration
		for range 15 { // interleaved so that drift affects both alike
			real = append(real, timed(func() error {
				_, _, err := h.Verify(t.Context(), "wrong password", encoded)
				return err
			}))
			dummy = append(dummy, timed(func() error { return h.VerifyDummy(t.Context(), "wrong password") }))
		}
		mr, md := median(real), median(dummy)
		ratio := float64(md) / float64(mr)
		if ratio >= 0.5 && ratio <= 2 {
			return
		}
		last = fmt.Sprintf("median dummy %v vs verify %v (ratio %.2f)", md, mr, ratio)
	}
	t.Fatalf("%s; want within 0.5–2", last)
}

// validHash is a well-formed encoding: 16-byte salt, 32-byte key.
const validHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

func TestParseHash(t *testing.T) {
	p, salt, key, err := parseHash(validHash)
	if err != nil {
		t.Fatalf("parse valid hash: %v", err)
	}
	if p != DefaultPasswordParams() || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("parsed %+v with %d-byte salt, %d-byte key", p, len(salt), len(key))
	}
	if again := encodeHash(p, salt, key); again != validHash {
		t.Fatalf("re-encoded as %q", again)
	}
}

func TestParseHashRejectsMalformedEncodings(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	with := func(head, params, s, k string) string { return head + "$" + params + "$" + s + "$" + k }
	const head = "$argon2id$v=19"
	tests := []struct{ name, encoded string }{
		{"an empty string", ""},
		{"a bcrypt hash", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i", with("$argon2i$v=19", "m=19456,t=2,p=1", salt, key)},
		{"argon2d", with("$argon2d$v=19", "m=19456,t=2,p=1", salt, key)},
		{"an upper-case algorithm", with("$ARGON2ID$v=19", "m=19456,t=2,p=1", salt, key)},
		{"version 16", with("$argon2id$v=16", "m=19456,t=2,p=1", salt, key)},
		{"a missing version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"a missing key", head + "$m=19456,t=2,p=1$" + salt},
		{"an extra field", with(head, "m=19456,t=2,p=1", salt, key) + "$" + key},
		{"a trailing dollar", with(head, "m=19456,t=2,p=1", salt, key) + "$"},
		{"no leading dollar", with("argon2id$v=19", "m=19456,t=2,p=1", salt, key)},
		{"text before the hash", "x" + with(head, "m=19456,t=2,p=1", salt, key)},
		{"parameters out of order", with(head, "t=2,m=19456,p=1", salt, key)},
		{"a missing parameter", with(head, "m=19456,t=2", salt, key)},
		{"an extra parameter", with(head, "m=19456,t=2,p=1,keyid=x", salt, key)},
		{"a space in the parameters", with(head, "m=19456, t=2,p=1", salt, key)},
		{"a leading zero", with(head, "m=019456,t=2,p=1", salt, key)},
		{"a plus sign", with(head, "m=+19456,t=2,p=1", salt, key)},
		{"a negative number", with(head, "m=19456,t=-2,p=1", salt, key)},
		{"a hexadecimal number", with(head, "m=0x4c00,t=2,p=1", salt, key)},
		{"an empty number", with(head, "m=,t=2,p=1", salt, key)},
		{"zero memory", with(head, "m=0,t=2,p=1", salt, key)},
		{"zero time", with(head, "m=19456,t=0,p=1", salt, key)},
		{"zero threads", with(head, "m=19456,t=2,p=0", salt, key)},
		{"memory below 8 KiB per thread", with(head, "m=31,t=1,p=4", salt, key)},
		{"memory over 1 GiB", with(head, "m=1048577,t=2,p=1", salt, key)},
		{"memory over 32 bits", with(head, "m=4294967296,t=2,p=1", salt, key)},
		{"time over 20", with(head, "m=19456,t=21,p=1", salt, key)},
		{"threads over 16", with(head, "m=19456,t=2,p=17", salt, key)},
		{"threads over 8 bits", with(head, "m=19456,t=2,p=257", salt, key)},
		{"padded base64", with(head, "m=19456,t=2,p=1", salt+"==", key)},
		{"url-safe base64", with(head, "m=19456,t=2,p=1", salt, "_-"+key[2:])},
		{"non-zero trailing bits", with(head, "m=19456,t=2,p=1", salt[:len(salt)-1]+"B", key)},
		{"a line break inside base64", with(head, "m=19456,t=2,p=1", salt[:4]+"\n"+salt[4:], key)},
		{"an impossible base64 length", with(head, "m=19456,t=2,p=1", salt+"AAA", key)},
		{"an empty salt", with(head, "m=19456,t=2,p=1", "", key)},
		{"a 7-byte salt", with(head, "m=19456,t=2,p=1", "c2FsdHNhbA", key)},
		{"a 65-byte salt", with(head, "m=19456,t=2,p=1", strings.Repeat("A", 87), key)},
		{"an empty key", with(head, "m=19456,t=2,p=1", salt, "")},
		{"a 15-byte key", with(head, "m=19456,t=2,p=1", salt, "a2V5a2V5a2V5a2V5a2V5")},
		{"a 65-byte key", with(head, "m=19456,t=2,p=1", salt, strings.Repeat("A", 87))},
		{"an oversized string", with(head, "m=19456,t=2,p=1", salt, key) + strings.Repeat("A", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			if _, _, _, err := parseHash(tt.encoded); !errors.Is(err, errMalformedHash) {
				t.Fatalf("parseHash(%q) error = %v; want a malformed-hash error", tt.encoded, err)
			}
		})
	}
}

// FuzzParseHash checks that the parser never panics, and that whatever it
// accepts is within bounds and is the one canonical encoding of its content.
func FuzzParseHash(f *testing.F) {
	for _, s := range []string{
		validHash,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=3,p=4$YWJjZGVmZ2hpamtsbW5vcA$" + strings.Repeat("A", 43),
		"$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5",
		"$argon2id$v=19$m=019456,t=2,p=1$$",
		"$$$$$",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, err := parseHash(encoded)
		if err != nil {
			if !errors.Is(err, errMalformedHash) {
				t.Fatalf("error %v is not a malformed-hash error", err)
			}
			return
		}
		if err := p.checkBounds(); err != nil {
			t.Fatalf("accepted out-of-bounds parameters %+v: %v", p, err)
		}
		if again := encodeHash(p, salt, key); again != encoded {
			t.Fatalf("accepted %q, which re-encodes as %q", encoded, again)
		}
	})
}

func TestAFullQueueShedsAtOnce(t *testing.T) {
	h := cheapHasher(t, cheapParams, 1)
	h.SetMaxQueued(2)
	release := make(chan struct{})
	h.afterAcquire = func() { <-release }
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 { // one runs, two queue
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "queued")
			errs <- err
		})
	}
	waitFor(t, "one runs and two queue", func() bool { return h.running.Load() == 1 && h.queued.Load() == 2 })
	_, _, err := h.Verify(t.Context(), "one too many", h.dummy)
	if !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("error = %v; want ErrHasherBusy", err)
	}
	if got := apperr.DetailsOf(err)["retry_after_seconds"]; got != "1" {
		t.Fatalf("retry_after_seconds = %q; want 1", got)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a queued caller failed: %v", err)
		}
	}
	if q := h.queued.Load(); q != 0 {
		t.Fatalf("%d callers still counted as queued", q)
	}
}
