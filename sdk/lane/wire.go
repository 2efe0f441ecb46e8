package lane

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The value of the greyrouter-lane member:
//
//	tenant "/" lane "/" revision *( "/" service ":" version )
//
// with each name percent-encoded where it holds a byte that is not plain
// (see isPlain) and the revision in decimal digits. Pins are written sorted
// by service; any order is read.

var errValue = errors.New("lane: malformed " + keyLane + " value: want tenant/lane/revision[/service:version...]")

// isPlain tells the bytes a name is written with as they are: those a
// baggage value may hold (printable ASCII but '"', ',', ';' and '\\'),
// except the form's own '%', '/' and ':'.
func isPlain(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\' && c != '%' && c != '/' && c != ':'
}

const hexDigits = "0123456789ABCDEF"

// appendName appends s percent-encoded where it is not plain.
func appendName(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPlain(c) {
			continue
		}
		// The usual name is plain: copy what precedes the first
		// escape in one go, and the rest byte by byte.
		b = append(b, s[:i]...)
		for ; i < len(s); i++ {
			if c := s[i]; isPlain(c) {
				b = append(b, c)
			} else {
				b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			}
		}
		return b
	}
	return append(b, s...)
}

type pin struct{ service, version string }

// appendLane appends the greyrouter-lane member for l, with service
// pinned to version when service is not empty.
func appendLane(b []byte, l Lane, service, version string) ([]byte, error) {
	if l.Revision < 0 {
		return b, fmt.Errorf("lane: negative revision %d", l.Revision)
	}
	var stack [16]pin
	pins := stack[:0]
	for s, v := range l.Pins {
		if s == service {
			v = version
		}
		pins = append(pins, pin{s, v})
	}
	if _, pinned := l.Pins[service]; service != "" && !pinned {
		pins = append(pins, pin{service, version})
	}
	if len(pins) > MaxPins {
		return b, fmt.Errorf("lane: more than %d pinned services", MaxPins)
	}
	slices.SortFunc(pins, func(a, b pin) int { return strings.Compare(a.service, b.service) })

	b = append(b, keyLane...)
	b = append(b, '=')
	b = appendName(b, l.Tenant)
	b = append(b, '/')
	b = appendName(b, l.Name)
	b = append(b, '/')
	b = strconv.AppendInt(b, l.Revision, 10)
	for _, p := range pins {
		if p.service == "" || p.version == "" {
			return b, fmt.Errorf("lane: pin %q:%q names no service or no version", p.service, p.version)
		}
		b = append(b, '/')
		b = appendName(b, p.service)
		b = append(b, ':')
		b = appendName(b, p.version)
	}
	return b, nil
}

// decodeLane reads a greyrouter-lane value, strictly: three fields at
// least, a decimal revision, pins "service:version" with neither empty,
// no service pinned twice, at most MaxPins of them, and no byte a
// baggage value may not hold.
func decodeLane(v string) (Lane, error) {
	tenant, rest, ok1 := strings.Cut(v, "/")
	name, rest, ok2 := strings.Cut(rest, "/")
	rev, pins, hasPins := strings.Cut(rest, "/")
	if !ok1 || !ok2 {
		return Lane{}, errValue
	}
	var l Lane
	var err error
	if l.Tenant, err = unescape(tenant); err != nil {
		return Lane{}, err
	}
	if l.Name, err = unescape(name); err != nil {
		return Lane{}, err
	}
	if l.Revision, err = parseRevision(rev); err != nil {
		return Lane{}, err
	}
	if !hasPins {
		return l, nil
	}
	n := strings.Count(pins, "/") + 1
	if n > MaxPins {
		return Lane{}, fmt.Errorf("lane: more than %d pinned services", MaxPins)
	}
	l.Pins = make(map[string]string, n)
	for pin := range strings.SplitSeq(pins, "/") {
		svc, ver, ok := strings.Cut(pin, ":")
		if !ok || strings.IndexByte(ver, ':') >= 0 {
			return Lane{}, fmt.Errorf("lane: pin %q is not service:version", pin)
		}
		if svc, err = unescape(svc); err != nil {
			return Lane{}, err
		}
		if ver, err = unescape(ver); err != nil {
			return Lane{}, err
		}
		if svc == "" || ver == "" {
			return Lane{}, fmt.Errorf("lane: pin %q is not service:version", pin)
		}
		if _, dup := l.Pins[svc]; dup {
			return Lane{}, fmt.Errorf("lane: service %q pinned twice", svc)
		}
		l.Pins[svc] = ver
	}
	return l, nil
}

// parseRevision reads a revision: decimal digits, at least one.
func parseRevision(s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("lane: revision %q is not a non-negative integer", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("lane: revision %q is not a non-negative integer", s)
	}
	return n, nil
}

// unescape decodes a name's percent-escapes, refusing bytes a baggage
// value may not hold; a name without escapes is returned as it is.
func unescape(s string) (string, error) {
	escapes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fmt.Errorf("lane: %q has a bad percent-encoding", s)
			}
			escapes++
			i += 2
		case c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\':
			return "", fmt.Errorf("lane: %q holds a byte a baggage value may not", s)
		}
	}
	if escapes == 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s)-2*escapes)
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b), nil
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
