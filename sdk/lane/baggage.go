package lane

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var errBaggage = errors.New("lane: malformed baggage header")

// member is one W3C Baggage list member: raw is its text without the
// whitespace around it (properties included), key its key, and value its
// value as sent (percent-encoded, properties and whitespace cut off).
type member struct {
	raw, key, value string
}

// scanner walks the list members of a baggage header's values (members
// joined by ','), checking each: a token key, '=', and a value whose
// percent-escapes are whole. Empty list members (",,") are skipped, as
// the specification allows. It allocates nothing.
type scanner struct {
	values  []string // the values not read yet
	rest    string   // what is left of the value being read
	reading bool     // whether rest is part of a value (it may be empty)
	n       int      // members so far
}

func newScanner(values []string) (scanner, error) {
	size := len(values) - 1 // the ',' that join the values
	for _, v := range values {
		size += len(v)
	}
	if size > MaxHeaderBytes {
		return scanner{}, fmt.Errorf("%w: longer than %d bytes", errBaggage, MaxHeaderBytes)
	}
	return scanner{values: values}, nil
}

// next returns the next member; false at the end of the header.
func (s *scanner) next() (member, bool, error) {
	for {
		if !s.reading {
			if len(s.values) == 0 {
				return member{}, false, nil
			}
			s.rest, s.values, s.reading = s.values[0], s.values[1:], true
		}
		raw, rest, more := strings.Cut(s.rest, ",")
		s.rest, s.reading = rest, more
		if raw = trimOWS(raw); raw == "" {
			continue
		}
		kv, _, _ := strings.Cut(raw, ";")
		k, v, ok := strings.Cut(kv, "=")
		k, v = trimOWS(k), trimOWS(v)
		if !ok || !isToken(k) {
			return member{}, false, fmt.Errorf("%w: member %q is not key=value", errBaggage, raw)
		}
		if !wholeEscapes(v) {
			return member{}, false, fmt.Errorf("%w: member %q has a bad percent-encoding", errBaggage, k)
		}
		if s.n++; s.n > MaxMembers {
			return member{}, false, fmt.Errorf("%w: more than %d members", errBaggage, MaxMembers)
		}
		return member{raw: raw, key: k, value: v}, true, nil
	}
}

// inject writes the baggage header for l, with service pinned to version
// when service is not empty, after the members of other systems already
// in h. It writes into a buffer on the stack and sets one new string.
func inject(h http.Header, l Lane, service, version string) error {
	var buf [256]byte
	b := buf[:0]
	n := 0
	if values := h[canonicalHeader]; len(values) > 0 {
		s, err := newScanner(values)
		if err != nil {
			return err
		}
		for {
			m, ok, err := s.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if strings.HasPrefix(m.key, prefix) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, m.raw...)
			n++
		}
	}
	if !l.IsZero() || service != "" {
		if n > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendLane(b, l, service, version); err != nil {
			return err
		}
		n++
	}
	if len(b) > MaxHeaderBytes || n > MaxMembers {
		return fmt.Errorf("lane: the baggage header would exceed %d bytes or %d members", MaxHeaderBytes, MaxMembers)
	}
	delete(h, Header)
	if len(b) == 0 {
		delete(h, canonicalHeader)
		return nil
	}
	h[canonicalHeader] = []string{string(b)}
	return nil
}

// trimOWS cuts the optional whitespace (spaces and tabs) around s.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// wholeEscapes reports whether every '%' in s starts a two-digit hex
// escape.
func wholeEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		j := strings.IndexByte(s[i+3:], '%')
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
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
