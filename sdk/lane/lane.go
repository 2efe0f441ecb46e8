package lane

import (
	"context"
	"errors"
	"net/http"
)

// Lane is the routing context a request carries.
type Lane struct {
	Tenant string
	// Name is the lane the request travels in (a version name such as
	// "v2" shared by the services that have a v2 lane); empty for the
	// baseline.
	Name string
	// Revision is the router revision the first decision was made at;
	// later hops may use it to decide consistently. Never negative.
	Revision int64
	// Pins are the versions chosen for the services passed so far, by
	// service. A lane from Extract or FromContext may share its map with
	// others: change a copy (WithPin), not the map.
	Pins map[string]string
}

// Hop is what one routing decision adds to a lane on the way to the next
// service: the tenant routed for, the lane the decision left the request
// in, the service pinned to the version chosen, and the revision decided
// at, which a lane keeps only from its first decision.
type Hop struct {
	Tenant   string
	Name     string
	Service  string
	Version  string
	Revision int64
}

// Header is the header lanes travel in.
const Header = "baggage"

// canonicalHeader is Header as net/http keys it.
const canonicalHeader = "Baggage"

// Limits of the W3C Baggage specification that a receiver must accept at
// least; longer headers are refused rather than truncated.
const (
	MaxHeaderBytes = 8192
	MaxMembers     = 180
	MaxPins        = 64
)

const (
	// keyLane is the key of the one baggage member a lane travels in.
	keyLane = "greyrouter-lane"
	// prefix marks the members that are greyrouter's: Inject replaces
	// them all.
	prefix = "greyrouter-"
)

// Pin returns the version pinned for service, if any.
func (l Lane) Pin(service string) (string, bool) {
	v, ok := l.Pins[service]
	return v, ok
}

// WithPin returns a copy of l with service pinned to version; l's own
// pins are left as they were.
func (l Lane) WithPin(service, version string) Lane {
	pins := make(map[string]string, len(l.Pins)+1)
	for k, v := range l.Pins {
		pins[k] = v
	}
	pins[service] = version
	l.Pins = pins
	return l
}

// Next returns the lane after hop: hop's tenant and lane, hop's service
// pinned to its version, and l's revision, or hop's when l has none. It
// copies the pins; InjectNext writes the same lane without building it.
func (l Lane) Next(hop Hop) Lane {
	if hop.Service != "" {
		l = l.WithPin(hop.Service, hop.Version)
	}
	l.Tenant, l.Name = hop.Tenant, hop.Name
	if l.Revision == 0 {
		l.Revision = hop.Revision
	}
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

var errTwice = errors.New("lane: " + keyLane + " appears twice in the baggage header")

// Extract reads the lane from h. A request without a greyrouter-lane
// member has no lane (false, nil); a malformed baggage header is an
// error, and the request should then be treated as having no lane.
func Extract(h http.Header) (Lane, bool, error) {
	values := h[canonicalHeader]
	if len(values) == 0 {
		return Lane{}, false, nil
	}
	s, err := newScanner(values)
	if err != nil {
		return Lane{}, false, err
	}
	var l Lane
	found := false
	for {
		m, ok, err := s.next()
		if err != nil {
			return Lane{}, false, err
		}
		if !ok {
			return l, found, nil
		}
		if m.key != keyLane {
			continue
		}
		if found {
			return Lane{}, false, errTwice
		}
		if l, err = decodeLane(m.value); err != nil {
			return Lane{}, false, err
		}
		found = true
	}
}

// Inject writes l into h's baggage header, replacing earlier greyrouter
// members and keeping every other member as it was. A zero lane removes
// greyrouter members only. The header's old values are replaced, never
// changed in place, so h may share them with another request's header.
func Inject(h http.Header, l Lane) error {
	return inject(h, l, "", "")
}

// InjectNext writes into h what Inject(h, l.Next(hop)) would, without
// copying l's pins: it runs on every call a service makes.
func InjectNext(h http.Header, l Lane, hop Hop) error {
	l.Tenant, l.Name = hop.Tenant, hop.Name
	if l.Revision == 0 {
		l.Revision = hop.Revision
	}
	return inject(h, l, hop.Service, hop.Version)
}

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
