package login

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// errMalformedHash marks every parse failure of a stored hash.
var errMalformedHash = errors.New("malformed password hash")

// Bounds for stored hashes. They are looser than the Validate floor, so old
// or test hashes still parse (and get rehashed), but tight enough that a
// tampered row cannot make one verification allocate without limit.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxTime       = 20
	maxThreads    = 16
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxEncodedLen = 256
)

var b64 = base64.RawStdEncoding

// checkBounds rejects parameters outside the bounds every stored hash must
// respect; argon2 itself requires 8 KiB of memory per lane.
func (p PasswordParams) checkBounds() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("threads %d outside [1, %d]", p.Threads, maxThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory %d KiB outside [%d, %d]", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d outside [1, %d]", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// encodeHash writes the PHC string format,
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key>, with unpadded
// standard base64.
func encodeHash(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseHash is the strict inverse of encodeHash: it accepts exactly the
// strings encodeHash can produce within the stored-hash bounds, so every
// accepted input re-encodes to itself. It never panics on any input.
func parseHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	fail := func(format string, args ...any) (PasswordParams, []byte, []byte, error) {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: "+format, append([]any{errMalformedHash}, args...)...)
	}
	if len(encoded) > maxEncodedLen {
		return fail("longer than %d bytes", maxEncodedLen)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want 5 $-separated fields, got %d", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return fail("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v=19" {
		return fail("version %q is not v=19", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return fail("want parameters m, t and p, got %d", len(params))
	}
	var values [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(params[i], name)
		if !found {
			return fail("parameter %d is not %s", i+1, name[:1])
		}
		if values[i], err = parseDecimal(digits); err != nil {
			return fail("parameter %s: %v", name[:1], err)
		}
	}
	if values[2] > maxThreads {
		return fail("threads %d outside [1, %d]", values[2], maxThreads)
	}
	if salt, err = decodeCanonical(parts[4], maxSaltLen); err != nil {
		return fail("salt: %v", err)
	}
	if key, err = decodeCanonical(parts[5], maxKeyLen); err != nil {
		return fail("key: %v", err)
	}
	p = PasswordParams{
		MemoryKiB: values[0], Time: values[1], Threads: uint8(values[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key)),
	}
	if err := p.checkBounds(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}

// parseDecimal accepts only canonical decimal numbers: digits, no sign, no
// leading zero, fitting in 32 bits.
func parseDecimal(s string) (uint32, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("%q is not a number of 1 to 10 digits", s)
	}
	if s[0] == '0' && len(s) > 1 {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q does not fit in 32 bits", s)
	}
	return uint32(n), nil
}

// decodeCanonical decodes unpadded standard base64, rejecting any other
// spelling of the same bytes (padding, line breaks, non-zero trailing bits).
func decodeCanonical(s string, maxLen int) ([]byte, error) {
	if len(s) > b64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("longer than %d bytes", maxLen)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("not unpadded standard base64")
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}
