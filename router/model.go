package router

import (
	"encoding/json"
	"time"
)

// Strategy names how an instance is chosen inside a version.
type Strategy string

// The load-balancing strategies every decider implements identically.
const (
	RoundRobin         Strategy = "round_robin"
	WeightedRoundRobin Strategy = "weighted_round_robin"
	Random             Strategy = "random"
	WeightedRandom     Strategy = "weighted_random"
	LeastConnections   Strategy = "least_connections"
	ConsistentHash     Strategy = "consistent_hash"
)

// Strategies lists every valid strategy, in documentation order.
var Strategies = []Strategy{RoundRobin, WeightedRoundRobin, Random, WeightedRandom, LeastConnections, ConsistentHash}

// VersionState is the lifecycle of a service version. Retired versions
// cannot be routed to; deprecated ones still can, but are flagged.
type VersionState string

// Version states.
const (
	VersionActive     VersionState = "active"
	VersionDeprecated VersionState = "deprecated"
	VersionRetired    VersionState = "retired"
)

// BindingMode says how a tenant's traffic for a service picks a version once
// no match rule applied.
type BindingMode string

// Binding modes.
const (
	// ModeDefault falls through to the service's default version.
	ModeDefault BindingMode = "default"
	// ModePin sends everything to one version.
	ModePin BindingMode = "pin"
	// ModeSplit sends a sticky percentage to a candidate, the rest to a baseline.
	ModeSplit BindingMode = "split"
)

// LaneMode says what a binding does with a request that travels in a
// release lane (Request.Lane): a request that entered v2 of one service
// keeps to v2 of the next when that service has a v2.
type LaneMode string

// Lane modes.
const (
	// LanePermissive (the default) follows the lane when the service has
	// a routable version of that name with a usable instance, and decides
	// as without a lane otherwise.
	LanePermissive LaneMode = "permissive"
	// LaneStrict follows the lane, and fails the decision when the
	// service has no routable version of that name (not found) or no
	// usable instance of it (unavailable).
	LaneStrict LaneMode = "strict"
	// LaneIgnore decides as without a lane; the lane still travels on.
	LaneIgnore LaneMode = "ignore"
)

// InstanceSource records where an instance came from.
type InstanceSource string

// Instance sources.
const (
	SourceAPI      InstanceSource = "api"
	SourceRegistry InstanceSource = "registry"
)

// Tenant is a customer of the platform; every binding belongs to one.
type Tenant struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CircuitPolicy configures outlier ejection for a service's instances. A zero
// ConsecutiveFailures and zero ErrorRatePercent disable ejection.
type CircuitPolicy struct {
	// ConsecutiveFailures ejects an instance after this many errors in a row.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// ErrorRatePercent ejects an instance whose error rate over the window
	// reaches this value, once MinRequests were seen.
	ErrorRatePercent float64 `json:"error_rate_percent"`
	MinRequests      int     `json:"min_requests"`
	WindowSeconds    int     `json:"window_seconds"`
	// BaseEjectionSeconds is the first cooldown; each repeated ejection
	// doubles it, up to MaxEjectionSeconds.
	BaseEjectionSeconds int `json:"base_ejection_seconds"`
	MaxEjectionSeconds  int `json:"max_ejection_seconds"`
	// MaxEjectionPercent caps the share of a service's instances ejected at once.
	MaxEjectionPercent int `json:"max_ejection_percent"`
	// PanicThresholdPercent: when fewer than this share of a version's live
	// instances are healthy, decisions use all of them rather than fail.
	PanicThresholdPercent int `json:"panic_threshold_percent"`
	// ProbeTimeoutSeconds bounds how long a half-open probe may stay unreported
	// before another probe is allowed.
	ProbeTimeoutSeconds int `json:"probe_timeout_seconds"`
}

// DefaultCircuitPolicy is what a new service gets unless it says otherwise.
func DefaultCircuitPolicy() CircuitPolicy {
	return CircuitPolicy{
		ConsecutiveFailures:   5,
		ErrorRatePercent:      50,
		MinRequests:           20,
		WindowSeconds:         30,
		BaseEjectionSeconds:   10,
		MaxEjectionSeconds:    300,
		MaxEjectionPercent:    50,
		PanicThresholdPercent: 30,
		ProbeTimeoutSeconds:   10,
	}
}

// Service is a routable service; its versions and instances hang off it.
type Service struct {
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	DefaultVersion string   `json:"default_version,omitempty"`
	Strategy       Strategy `json:"strategy"`
	// LeaseSeconds is how long a least-connections lease lives unreleased.
	LeaseSeconds int           `json:"lease_seconds"`
	Circuit      CircuitPolicy `json:"circuit"`
	// WarmupSeconds ramps a new instance's weight linearly from 1 to its
	// full weight over this long after its first registration, so a cold
	// process is not handed its full share at once; 0 turns warm-up off.
	WarmupSeconds int       `json:"warmup_seconds"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Version is one deployable version of a service.
type Version struct {
	Service     string       `json:"service"`
	Name        string       `json:"name"`
	State       VersionState `json:"state"`
	Description string       `json:"description,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Instance is one callable endpoint of a version.
type Instance struct {
	ID       string            `json:"id"`
	Service  string            `json:"service"`
	Version  string            `json:"version"`
	Address  string            `json:"address"`
	Weight   int               `json:"weight"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Enabled  bool              `json:"enabled"`
	Draining bool              `json:"draining"`
	// DrainingSince is when Draining last turned true (zero while not
	// draining); the reconciler removes the instance once its leases ran
	// out and a grace period passed, or once it drained too long.
	DrainingSince time.Time      `json:"draining_since,omitzero"`
	Source        InstanceSource `json:"source"`
	// HeartbeatSeconds, when positive, makes the instance unroutable once no
	// heartbeat arrived for that long.
	HeartbeatSeconds int       `json:"heartbeat_seconds"`
	LastHeartbeat    time.Time `json:"last_heartbeat,omitzero"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Condition tests one request value.
type Condition struct {
	// Source is "header" or "attribute".
	Source string `json:"source"`
	Name   string `json:"name"`
	// Op is "equals", "in" or "prefix".
	Op     string   `json:"op"`
	Values []string `json:"values"`
}

// Rule sends matching requests to a version. Rules are tried by ascending
// Priority; the first whose conditions all hold decides.
type Rule struct {
	Priority int         `json:"priority"`
	When     []Condition `json:"when"`
	Version  string      `json:"version"`
}

// Binding is a tenant's routing for one service.
type Binding struct {
	Tenant  string      `json:"tenant"`
	Service string      `json:"service"`
	Mode    BindingMode `json:"mode"`
	// Version is the pinned version (ModePin).
	Version string `json:"version,omitempty"`
	// Baseline, Candidate and Percent describe a split (ModeSplit): users
	// whose bucket is below Percent*100 go to Candidate.
	Baseline  string  `json:"baseline,omitempty"`
	Candidate string  `json:"candidate,omitempty"`
	Percent   Percent `json:"percent"`
	// Sticky names where the sticky key comes from: "key" (the request's
	// key), "header:<name>" or "attribute:<name>".
	Sticky string `json:"sticky,omitempty"`
	// Salt makes buckets independent between bindings; it is kept when the
	// percentage changes so that raising it never moves a user back.
	Salt  string `json:"salt"`
	Rules []Rule `json:"rules,omitempty"`
	// LaneMode says whether a request's lane decides before the rules,
	// the pin and the split (LanePermissive when empty).
	LaneMode  LaneMode  `json:"lane_mode,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Revision is one committed change of the routing configuration.
type Revision struct {
	Number int64     `json:"number"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
	// Summary says in words what happened ("update binding acme/orders").
	Summary string   `json:"summary"`
	Changes []Change `json:"changes"`
	// RollbackOf is the revision this one restored, if it is a rollback.
	RollbackOf int64 `json:"rollback_of,omitempty"`
}

// Kind names a kind of revisioned record.
type Kind string

// Revisioned record kinds. Instances are runtime state (registered,
// heartbeating, drained) and are not revisioned.
const (
	KindTenant  Kind = "tenant"
	KindService Kind = "service"
	KindVersion Kind = "version"
	KindBinding Kind = "binding"
)

// Change is one record's before and after; a nil side means absent.
type Change struct {
	Kind   Kind            `json:"kind"`
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	// Fields names the top-level fields whose values differ (timestamps
	// aside), for a quick reading of an update; empty for creations and
	// deletions.
	Fields []string `json:"fields,omitempty"`
}

// Request is what a caller asks the router to decide.
type Request struct {
	Tenant     string            `json:"tenant"`
	Service    string            `json:"service"`
	Key        string            `json:"key,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Headers are request headers, names lower-cased.
	Headers map[string]string `json:"headers,omitempty"`
	// Lane is the release lane the request travels in (a version name,
	// set by an earlier hop's decision), "" for none.
	Lane string `json:"lane,omitempty"`
	// Avoid names an instance not to choose when the version has another
	// usable one: a retry after the connection to it failed.
	Avoid string `json:"avoid,omitempty"`
}

// InstanceRef is the chosen instance as callers see it.
type InstanceRef struct {
	ID       string            `json:"id"`
	Address  string            `json:"address"`
	Metadata map[string]string `json:"metadata"`
}

// Decision is the router's answer.
type Decision struct {
	Version  string      `json:"version"`
	Instance InstanceRef `json:"instance"`
	// Reason is one of "lane", "rule", "pin", "split_baseline",
	// "split_candidate", "default".
	Reason   string `json:"reason"`
	Revision int64  `json:"revision"`
	// Lane is the lane the request travels in after this decision: the
	// lane it came in, else the version chosen when that is not the
	// service's default version, else "" (see LaneAfter).
	Lane string `json:"lane,omitempty"`
	// Lease must be passed back on report for least_connections.
	Lease string `json:"lease,omitempty"`
	// Deprecated is set when the chosen version is deprecated: still
	// routable, but callers and dashboards should notice.
	Deprecated bool         `json:"deprecated,omitempty"`
	Explain    *Explanation `json:"explain,omitempty"`
}

// Explanation says which rule, bucket and strategy decided.
type Explanation struct {
	Rule       *int     `json:"rule,omitempty"`
	Bucket     *int     `json:"bucket,omitempty"`
	Threshold  *int     `json:"threshold,omitempty"`
	Sticky     bool     `json:"sticky"`
	Strategy   Strategy `json:"strategy"`
	Candidates int      `json:"candidates"`
	Healthy    int      `json:"healthy"`
	Panic      bool     `json:"panic"`
	Probe      bool     `json:"probe"`
}

// Outcome is a caller's report on one call to an instance.
type Outcome struct {
	Service   string  `json:"service"`
	Instance  string  `json:"instance"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Lease     string  `json:"lease,omitempty"`
}

// ReportResult is the instance's circuit state after an outcome.
type ReportResult struct {
	Circuit string `json:"circuit"` // closed, open, half_open
}
