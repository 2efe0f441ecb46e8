package privilege

import (
	"errors"
	"fmt"
	"strings"
)

// Resource and action patterns, shared by RBAC permissions (and usable by
// ABAC targets).
//
// A resource name is a slash-separated path such as "orders/1234/items".
// A resource pattern is a path whose segments are each a name (1-63 bytes
// of a-z, 0-9, '.', '_', '-', starting with a letter or digit) or "*":
//
//   - a literal segment matches exactly that segment;
//   - "*" anywhere but last matches exactly one segment: "orders/*/items"
//     matches "orders/1/items" but not "orders/1/2/items";
//   - "*" as the last segment matches one or more segments: "orders/*"
//     matches "orders/1" and "orders/1/items" but not "orders";
//   - a lone "*" is that rule at the root, so it matches every resource;
//   - a pattern without "*" matches only itself: "orders" matches "orders"
//     and nothing below it.
//
// An action pattern is an action name (same alphabet, e.g. "read" or
// "orders.refund") or "*", which matches every action.
//
// Requested resources may use any bytes in a segment except '/', so ids
// need not follow the pattern alphabet; but a requested resource that is
// empty, has an empty segment (a leading, trailing or doubled slash) or a
// "*" segment, and a requested action that is empty or "*", are malformed:
// they match no pattern at all, so they are denied by default rather than
// read as wildcards.

// Limits on patterns, which bound the depth of the matching tries.
const (
	MaxResourceSegments   = 16
	MaxResourcePatternLen = 256
)

var errPatternSegment = errors.New(`segments must be "*" or 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`)

// ValidateResourcePattern reports why pattern cannot be used as a resource
// pattern, or nil when it can.
func ValidateResourcePattern(pattern string) error {
	if pattern == "" {
		return errors.New("must not be empty")
	}
	if len(pattern) > MaxResourcePatternLen {
		return fmt.Errorf("must be at most %d bytes", MaxResourcePatternLen)
	}
	n := 0
	for rest := pattern; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg != "*" && !patNameOK(seg) {
			return fmt.Errorf("segment %q: %w", seg, errPatternSegment)
		}
		if n++; n > MaxResourceSegments {
			return fmt.Errorf("must have at most %d segments", MaxResourceSegments)
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// ValidateActionPattern reports why pattern cannot be used as an action
// pattern, or nil when it can.
func ValidateActionPattern(pattern string) error {
	if pattern == "*" || patNameOK(pattern) {
		return nil
	}
	return errors.New(`must be "*" or 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`)
}

// MatchResource reports whether a valid resource pattern matches a
// requested resource name. It compares strings directly; engines match
// many patterns at once through an index instead, and tests hold the two
// to the same answers.
func MatchResource(pattern, resource string) bool {
	if !patRequestResourceOK(resource) {
		return false
	}
	for {
		pseg, prest, pmore := strings.Cut(pattern, "/")
		rseg, rrest, rmore := strings.Cut(resource, "/")
		if pseg == "*" && !pmore {
			return true // a trailing "*": rseg and whatever follows
		}
		if pseg != "*" && pseg != rseg {
			return false
		}
		if !pmore || !rmore {
			return pmore == rmore
		}
		pattern, resource = prest, rrest
	}
}

// MatchAction reports whether an action pattern matches a requested action.
func MatchAction(pattern, action string) bool {
	if action == "" || action == "*" {
		return false
	}
	return pattern == "*" || pattern == action
}

// patRequestResourceOK reports whether a requested resource is well formed:
// non-empty segments, none of them "*".
func patRequestResourceOK(resource string) bool {
	if resource == "" {
		return false
	}
	for rest := resource; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "" || seg == "*" {
			return false
		}
		if !more {
			return true
		}
		rest = tail
	}
}

// patNameOK reports whether s is a name: 1-63 bytes of a-z, 0-9, '.', '_'
// and '-', starting with a letter or digit (router.ValidName's alphabet,
// checked without a regexp because patterns are validated in bulk).
func patNameOK(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}
