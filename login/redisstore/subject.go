package redisstore

import (
	"encoding/base64"
	"net/netip"
)

// Subject is what failures are counted against: one account or one client
// address. Its zero value is invalid and refused by the Limiter.
type Subject struct {
	// tag is the hash tag of the subject's keys. It never contains '{' or
	// '}', so a key holds exactly one tag and all keys of a subject share
	// a Cluster slot.
	tag string
}

// AccountSubject names the account username of tenant. The caller passes
// the username in the canonical form logins are matched by (e.g. lower
// case); otherwise spellings of one account are counted apart. Both parts
// are base64url-encoded, so braces, colons or slashes in them can neither
// break the hash tag nor make two accounts collide.
func AccountSubject(tenant, username string) Subject {
	return Subject{tag: "acct:" + enc(tenant) + "/" + enc(username)}
}

// IPSubject names a client address. IPv4 addresses (and IPv4-mapped IPv6
// ones) count on their own. IPv6 addresses count per /64: a single host
// usually gets a whole /64, so counting per address would let an attacker
// rotate through 2^64 addresses and never be throttled. The zone is
// ignored. An invalid address gives the zero, invalid Subject.
func IPSubject(ip netip.Addr) Subject {
	if !ip.IsValid() {
		return Subject{}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return Subject{tag: "ip:" + ip.String()}
	}
	p, _ := ip.Prefix(64) // cannot fail for a valid IPv6 address
	return Subject{tag: "ip:" + p.String()}
}

// IsZero reports whether s is the invalid zero Subject.
func (s Subject) IsZero() bool { return s.tag == "" }

// String returns the subject's tag, for logs.
func (s Subject) String() string { return s.tag }

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// keys returns the failures sorted set and the lockout hash of s.
func (s Subject) keys() []string {
	p := "gl:{" + s.tag + "}:"
	return []string{p + "f", p + "l"}
}
