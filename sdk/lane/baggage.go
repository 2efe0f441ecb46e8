package lane

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// member is one W3C Baggage list member; props keeps its properties
// (";k=v" after the value) verbatim, so members of other systems pass
// through unchanged.
type member struct {
	key, value, props string
}

var errBaggage = errors.New("lane: malformed baggage header")

// parseBaggage parses a baggage header value (list members joined by
// ','). Keys are W3C tokens; values are percent-decoded; empty list
// members (",,") are skipped as the specification allows.
func parseBaggage(s string) ([]member, error) {
	if len(s) > MaxHeaderBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", errBaggage, MaxHeaderBytes)
	}
	var out []member
	for raw := range strings.SplitSeq(s, ",") {
		raw = strings.Trim(raw, " \t")
		if raw == "" {
			continue
		}
		kv, props, _ := strings.Cut(raw, ";")
		k, v, ok := strings.Cut(kv, "=")
		k = strings.Trim(k, " \t")
		v = strings.Trim(v, " \t")
		if !ok || !isToken(k) {
			return nil, fmt.Errorf("%w: member %q is not key=value", errBaggage, raw)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: member %q has a bad percent-encoding", errBaggage, k)
		}
		out = append(out, member{key: k, value: dv, props: props})
		if len(out) > MaxMembers {
			return nil, fmt.Errorf("%w: more than %d members", errBaggage, MaxMembers)
		}
	}
	return out, nil
}

// writeMember writes key=value with the value percent-encoded.
func writeMember(b *strings.Builder, key, value string) {
	b.WriteString(key)
	b.WriteByte('=')
	writeValue(b, value)
}

const hexDigits = "0123456789ABCDEF"

// writeValue percent-encodes what a baggage value may not hold: controls,
// space, '"', ',', ';', '\\', '%' and non-ASCII bytes.
func writeValue(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
