// Package lane carries a request's release lane across service hops: the
// tenant, the versions the router chose for the services the request has
// passed through, the lane those versions belong to, and the router
// revision they were chosen at. A service extracts it from the incoming
// request (Middleware, Extract), and the SDK's router client reads it from
// the context to keep the next hop in the same lane; outgoing requests
// carry it again (Inject, or InjectNext with the hop's choice added).
//
// The wire form is one W3C Baggage member (the "baggage" header, which
// tracing systems already forward), "greyrouter-lane", whose value is the
// tenant, the lane, the revision and the pinned services, '/' between
// them:
//
//	baggage: greyrouter-lane=acme/v2/42/billing:v2/orders:v2
//
// The baseline has an empty lane ("acme//42/orders:v1"); pins are sorted
// by service, one "service:version" each. Names are percent-encoded where
// they hold '%', '/', ':' or a byte a baggage value may not hold, so any
// name survives the trip; the usual names are sent as they are. The form
// is short on purpose: the header goes out on every call a service makes,
// and every byte of it is written, sent and read again by the instance.
//
// Baggage members of other systems are kept as they were, byte for byte,
// when the header is rewritten; other members whose keys start with
// "greyrouter-" are dropped. A lane is a routing hint, never an
// authorization: the tenant in it must not be trusted over the
// authenticated principal's, and an edge gateway should drop baggage
// arriving from outside.
//
// The package imports the standard library only: no web framework, and
// none of the router's, login's or privilege's domain packages.
package lane
