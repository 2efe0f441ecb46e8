// Package lane carries a request's release lane across service hops: the
// tenant, the versions the router chose for the services the request has
// passed through, the lane those versions belong to, and the router
// revision they were chosen at. A service extracts it from the incoming
// request (Middleware, Extract), and the SDK's router client reads it from
// the context to keep the next hop in the same lane; outgoing requests
// carry it again (Inject).
//
// The wire form is W3C Baggage (the "baggage" header, which tracing
// systems already forward), with members prefixed "greyrouter-":
//
//	baggage: greyrouter-tenant=acme,greyrouter-lane=v2,greyrouter-rev=42,greyrouter-pins=orders:v2;billing:v2
//
// Baggage members of other systems are kept as they were when the header
// is rewritten. A lane is a routing hint, never an authorization: the
// tenant in it must not be trusted over the authenticated principal's,
// and an edge gateway should drop baggage arriving from outside.
package lane

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Lane is the routing context a request carries.
type Lane struct {
	Tenant string
	// Name is the lane the request travels in (a version name such as
	// "v2" shared by the services that have a v2 lane); empty for the
	// baseline.
	Name string
	// Revision is the router revision the first decision was made at;
	// later hops may use it to decide consistently.
	Revision int64
	// Pins are the versions chosen for the services passed so far, by
	// service.
	Pins map[string]string
}

// Header is the header lanes travel in.
const Header = "baggage"

// Limits of the W3C Baggage specification that a receiver must accept at
// least; longer headers are refused rather than truncated.
const (
	MaxHeaderBytes = 8192
	MaxMembers     = 180
	MaxPins        = 64
)

const (
	keyTenant = "greyrouter-tenant"
	keyLane   = "greyrouter-lane"
	keyRev    = "greyrouter-rev"
	keyPins   = "greyrouter-pins"
	prefix    = "greyrouter-"
)

// Pin returns the version pinned for service, if any.
func (l Lane) Pin(service string) (string, bool) {
	v, ok := l.Pins[service]
	return v, ok
}

// WithPin returns a copy of l with service pinned to version.
func (l Lane) WithPin(service, version string) Lane {
	pins := make(map[string]string, len(l.Pins)+1)
	for k, v := range l.Pins {
		pins[k] = v
	}
	pins[service] = version
	l.Pins = pins
	return l
}

// IsZero reports whether l carries nothing.
func (l Lane) IsZero() bool {
	return l.Tenant == "" && l.Name == "" && l.Revision == 0 && len(l.Pins) == 0
}

type ctxKey struct{}

// NewContext returns ctx carrying l.
func NewContext(ctx context.Context, l Lane) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the lane ctx carries.
func FromContext(ctx context.Context) (Lane, bool) {
	l, ok := ctx.Value(ctxKey{}).(Lane)
	return l, ok
}

// Extract reads the lane from h. A request without greyrouter members
// has no lane (false, nil); a malformed baggage header is an error, and
// the request should then be treated as having no lane.
func Extract(h http.Header) (Lane, bool, error) {
	values := h.Values(Header)
	if len(values) == 0 {
		return Lane{}, false, nil
	}
	members, err := parseBaggage(strings.Join(values, ","))
	if err != nil {
		return Lane{}, false, err
	}
	var l Lane
	found := false
	for _, m := range members {
		if !strings.HasPrefix(m.key, prefix) {
			continue
		}
		found = true
		switch m.key {
		case keyTenant:
			l.Tenant = m.value
		case keyLane:
			l.Name = m.value
		case keyRev:
			n, err := strconv.ParseInt(m.value, 10, 64)
			if err != nil || n < 0 {
				return Lane{}, false, fmt.Errorf("lane: %s must be a non-negative integer", keyRev)
			}
			l.Revision = n
		case keyPins:
			if l.Pins, err = parsePins(m.value); err != nil {
				return Lane{}, false, err
			}
		}
	}
	return l, found, nil
}

// Inject writes l into h's baggage header, replacing earlier greyrouter
// members and keeping every other member. A zero lane removes greyrouter
// members only. It runs on every outgoing call, so it writes into one
// pre-sized buffer and parses the existing header only when there is one.
func Inject(h http.Header, l Lane) error {
	if len(l.Pins) > MaxPins {
		return fmt.Errorf("lane: more than %d pinned services", MaxPins)
	}
	var b strings.Builder
	b.Grow(128)
	n := 0
	sep := func() {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
	}
	if values := h.Values(Header); len(values) > 0 {
		members, err := parseBaggage(strings.Join(values, ","))
		if err != nil {
			return err
		}
		for _, m := range members {
			if strings.HasPrefix(m.key, prefix) {
				continue
			}
			sep()
			writeMember(&b, m.key, m.value)
			if m.props != "" {
				b.WriteByte(';')
				b.WriteString(m.props)
			}
		}
	}
	if l.Tenant != "" {
		sep()
		writeMember(&b, keyTenant, l.Tenant)
	}
	if l.Name != "" {
		sep()
		writeMember(&b, keyLane, l.Name)
	}
	if l.Revision != 0 {
		sep()
		b.WriteString(keyRev)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(l.Revision, 10))
	}
	if len(l.Pins) > 0 {
		sep()
		b.WriteString(keyPins)
		b.WriteByte('=')
		writePins(&b, l.Pins)
	}
	if b.Len() > MaxHeaderBytes || n > MaxMembers {
		return fmt.Errorf("lane: the baggage header would exceed %d bytes or %d members", MaxHeaderBytes, MaxMembers)
	}
	if b.Len() == 0 {
		delete(h, Header)
		delete(h, canonicalHeader)
		return nil
	}
	delete(h, Header)
	h[canonicalHeader] = []string{b.String()}
	return nil
}

// canonicalHeader is Header as net/http keys it.
const canonicalHeader = "Baggage"

// Middleware puts the lane of each request (if any) in its context. A
// malformed baggage header is ignored: the request travels in the
// baseline, as if it carried no lane.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l, ok, err := Extract(r.Header); err == nil && ok {
			r = r.WithContext(NewContext(r.Context(), l))
		}
		next.ServeHTTP(w, r)
	})
}

// pins are "service:version" pairs joined by ';', each part
// percent-encoded so names cannot break the format; the list is then a
// baggage value, so its own '%' and ';' are encoded once more.
func writePins(b *strings.Builder, pins map[string]string) {
	var buf [8]string
	services := buf[:0]
	if len(pins) > len(buf) {
		services = make([]string, 0, len(pins))
	}
	for s := range pins {
		services = append(services, s)
	}
	slices.Sort(services)
	for i, s := range services {
		if i > 0 {
			b.WriteString("%3B") // ';' inside a baggage value
		}
		writeValue(b, escapePin(s))
		b.WriteByte(':')
		writeValue(b, escapePin(pins[s]))
	}
}

// escapePin percent-encodes a name for the pins list (':' and ';'
// included); plain names, the usual case, are returned as they are.
func escapePin(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
		}
	}
	return s
}

func parsePins(s string) (map[string]string, error) {
	pins := map[string]string{}
	if s == "" {
		return pins, nil
	}
	for part := range strings.SplitSeq(s, ";") {
		svc, ver, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("lane: %s: %q is not service:version", keyPins, part)
		}
		var err1, err2 error
		svc, err1 = url.PathUnescape(svc)
		ver, err2 = url.PathUnescape(ver)
		if err1 != nil || err2 != nil || svc == "" || ver == "" {
			return nil, fmt.Errorf("lane: %s: %q is not service:version", keyPins, part)
		}
		if _, dup := pins[svc]; dup {
			return nil, fmt.Errorf("lane: %s: service %q pinned twice", keyPins, svc)
		}
		pins[svc] = ver
		if len(pins) > MaxPins {
			return nil, fmt.Errorf("lane: more than %d pinned services", MaxPins)
		}
	}
	return pins, nil
}
