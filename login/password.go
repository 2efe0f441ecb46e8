package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// MaxPasswordBytes caps password input so that a megabyte "password" cannot
// buy extra hashing work; argon2 first digests the whole input.
const MaxPasswordBytes = 1024

// PasswordParams are the argon2id cost parameters. They are stored inside
// every encoded hash, so changing them never breaks existing credentials;
// Verify reports old hashes for rehashing instead.
type PasswordParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	KeyLen    uint32
	SaltLen   uint32
}

// DefaultPasswordParams returns the OWASP argon2id minimum (19 MiB, two
// passes, one lane) with a 32-byte key and a 16-byte salt; Validate treats
// it as the floor.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// Validate rejects parameters weaker than DefaultPasswordParams in any
// dimension, and absurd ones that would let one login exhaust the host.
func (p PasswordParams) Validate() error {
	floor := DefaultPasswordParams()
	switch {
	case p.MemoryKiB < floor.MemoryKiB:
		return apperr.New(apperr.Invalid, "invalid password parameters: memory %d KiB is below the floor of %d KiB", p.MemoryKiB, floor.MemoryKiB)
	case p.Time < floor.Time:
		return apperr.New(apperr.Invalid, "invalid password parameters: time %d is below the floor of %d", p.Time, floor.Time)
	case p.Threads < floor.Threads:
		return apperr.New(apperr.Invalid, "invalid password parameters: threads %d is below the floor of %d", p.Threads, floor.Threads)
	case p.KeyLen < floor.KeyLen:
		return apperr.New(apperr.Invalid, "invalid password parameters: key length %d is below the floor of %d", p.KeyLen, floor.KeyLen)
	case p.SaltLen < floor.SaltLen:
		return apperr.New(apperr.Invalid, "invalid password parameters: salt length %d is below the floor of %d", p.SaltLen, floor.SaltLen)
	}
	if err := p.checkBounds(); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "invalid password parameters")
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id. A semaphore bounds
// the computations running at once, so memory stays below maxConcurrent ×
// MemoryKiB (or the larger cost of an old stored hash, itself capped at
// 1 GiB) however many logins arrive; the rest queue until their context ends.
type Hasher struct {
	params PasswordParams
	sem    chan struct{}
	dummy  string // an encoded hash with the current parameters that no password matches

	running   atomic.Int64 // computations holding a semaphore slot
	queued    atomic.Int64 // callers waiting for a slot
	maxQueued atomic.Int64 // 0: no limit

	// afterAcquire, when set by tests, runs while a slot is held.
	afterAcquire func()
}

// NewHasher returns a hasher using p, which must pass Validate, that runs at
// most maxConcurrent argon2 computations at once.
func NewHasher(p PasswordParams, maxConcurrent int) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newHasherUnchecked(p, maxConcurrent)
}

// newHasherUnchecked skips the strength floor (but not the sanity bounds) so
// that tests can use cheap parameters.
func newHasherUnchecked(p PasswordParams, maxConcurrent int) (*Hasher, error) {
	if err := p.checkBounds(); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "invalid password parameters")
	}
	if maxConcurrent < 1 {
		return nil, apperr.New(apperr.Invalid, "password hasher needs at least one concurrent computation, got %d", maxConcurrent)
	}
	// The dummy's key is random rather than derived: verifying against it
	// costs a full derivation all the same, and no password can match it.
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails; it crashes the program instead
	_, _ = rand.Read(key)
	return &Hasher{
		params: p,
		sem:    make(chan struct{}, maxConcurrent),
		dummy:  encodeHash(p, salt, key),
	}, nil
}

// Hash returns the PHC encoding of password under a fresh random salt.
// Passwords over MaxPasswordBytes are rejected before any work is done.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", apperr.Fields("invalid password", map[string]string{
			"password": fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes),
		})
	}
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the encoded hash, comparing in
// constant time. rehash is true only when the password matched and the
// hash was made with other parameters than the hasher's: the caller, who
// now holds the plaintext, should store a fresh Hash. A password over
// MaxPasswordBytes is a failed check, not an error, and still costs a dummy
// verification so that its timing matches a wrong password. A malformed
// stored hash is an Internal error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, false, h.VerifyDummy(ctx, password)
	}
	return h.verify(ctx, password, encoded)
}

// VerifyDummy does the work of a Verify against a hash with the current
// parameters, for unknown or disabled users, so that a login's timing does
// not reveal which case happened. It returns only the errors Verify would
// return for lack of capacity, so those look alike too.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if len(password) > MaxPasswordBytes {
		password = password[:MaxPasswordBytes]
	}
	_, _, err := h.verify(ctx, password, h.dummy)
	return err
}

func (h *Hasher) verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, false, apperr.Wrap(apperr.Internal, err, "verify password: stored hash is malformed")
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && p != h.params, nil
}

// derive runs one argon2id computation inside a semaphore slot.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p PasswordParams) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	if h.afterAcquire != nil {
		h.afterAcquire()
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen), nil
}

// ErrHasherBusy sheds a password check when MaxQueued callers already
// wait: under a flood, a quick 503 with Retry-After serves clients better
// than a queue that grows without bound. Unknown users are shed alike, so
// shedding reveals nothing about accounts.
var ErrHasherBusy = &apperr.Error{Code: apperr.Unavailable, Message: "too many password checks in progress; retry shortly",
	Details: map[string]string{"retry_after_seconds": "1"}}

// SetMaxQueued limits the callers waiting for a computation slot; beyond
// it, checks fail at once with ErrHasherBusy. 0 (the default) is no limit.
func (h *Hasher) SetMaxQueued(n int) { h.maxQueued.Store(int64(max(n, 0))) }

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, context.Cause(ctx), "password check abandoned")
	}
	select {
	case h.sem <- struct{}{}:
		h.running.Add(1)
		return nil
	default:
	}
	if q := h.queued.Add(1); h.maxQueued.Load() > 0 && q > h.maxQueued.Load() {
		h.queued.Add(-1)
		return ErrHasherBusy
	}
	defer h.queued.Add(-1)
	select {
	case h.sem <- struct{}{}:
		h.running.Add(1)
		return nil
	case <-ctx.Done():
		return apperr.Wrap(apperr.Unavailable, context.Cause(ctx), "too many concurrent password checks")
	}
}

func (h *Hasher) release() {
	h.running.Add(-1)
	<-h.sem
}
