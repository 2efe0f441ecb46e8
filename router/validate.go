package router

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Limits on configuration, so a single request cannot bloat the routing
// table that every decision reads.
const (
	MaxRules          = 64
	MaxConditions     = 8
	MaxValues         = 256
	MaxValueLen       = 256
	MaxMetadata       = 32
	MaxWeight         = 10000
	MaxAttributes     = 64
	MaxDescriptionLen = 512
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
var headerRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,128}$`)

// ValidName reports whether s may name a tenant, service, version or
// instance: lower-case letters, digits, '.', '_' and '-', up to 63 bytes.
// Names never contain ':' or braces, which keeps Redis keys and hash tags
// unambiguous.
func ValidName(s string) bool { return nameRE.MatchString(s) }

func checkName(problems map[string]string, field, v string) {
	if !ValidName(v) {
		problems[field] = "must be 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
	}
}

func checkText(problems map[string]string, field, v string) {
	if len(v) > MaxDescriptionLen || !utf8.ValidString(v) {
		problems[field] = fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxDescriptionLen)
	}
}

// Validate checks a tenant.
func (t Tenant) Validate() error {
	p := map[string]string{}
	checkName(p, "name", t.Name)
	checkText(p, "display_name", t.DisplayName)
	return apperr.Fields("invalid tenant", p)
}

// Validate checks a service's own fields (not that its default version exists).
func (s Service) Validate() error {
	p := map[string]string{}
	checkName(p, "name", s.Name)
	checkText(p, "description", s.Description)
	if s.DefaultVersion != "" && !ValidName(s.DefaultVersion) {
		p["default_version"] = "is not a valid version name"
	}
	if !slices.Contains(Strategies, s.Strategy) {
		p["strategy"] = fmt.Sprintf("must be one of %v", Strategies)
	}
	if s.LeaseSeconds < 1 || s.LeaseSeconds > 3600 {
		p["lease_seconds"] = "must be between 1 and 3600"
	}
	if s.WarmupSeconds < 0 || s.WarmupSeconds > MaxWarmupSeconds {
		p["warmup_seconds"] = fmt.Sprintf("must be between 0 (off) and %d", MaxWarmupSeconds)
	}
	c := s.Circuit
	switch {
	case c.ConsecutiveFailures < 0 || c.ConsecutiveFailures > 1000:
		p["circuit.consecutive_failures"] = "must be between 0 (off) and 1000"
	case c.ErrorRatePercent < 0 || c.ErrorRatePercent > 100:
		p["circuit.error_rate_percent"] = "must be between 0 (off) and 100"
	case c.MinRequests < 0 || c.MinRequests > 1000000:
		p["circuit.min_requests"] = "must be between 0 and 1000000"
	case c.WindowSeconds < 1 || c.WindowSeconds > 3600:
		p["circuit.window_seconds"] = "must be between 1 and 3600"
	case c.BaseEjectionSeconds < 1 || c.BaseEjectionSeconds > 86400:
		p["circuit.base_ejection_seconds"] = "must be between 1 and 86400"
	case c.MaxEjectionSeconds < c.BaseEjectionSeconds || c.MaxEjectionSeconds > 86400:
		p["circuit.max_ejection_seconds"] = "must be between base_ejection_seconds and 86400"
	case c.MaxEjectionPercent < 0 || c.MaxEjectionPercent > 100:
		p["circuit.max_ejection_percent"] = "must be between 0 and 100"
	case c.PanicThresholdPercent < 0 || c.PanicThresholdPercent > 100:
		p["circuit.panic_threshold_percent"] = "must be between 0 (off) and 100"
	case c.ProbeTimeoutSeconds < 1 || c.ProbeTimeoutSeconds > 3600:
		p["circuit.probe_timeout_seconds"] = "must be between 1 and 3600"
	}
	return apperr.Fields("invalid service", p)
}

// Validate checks a version.
func (v Version) Validate() error {
	p := map[string]string{}
	checkName(p, "service", v.Service)
	checkName(p, "name", v.Name)
	checkText(p, "description", v.Description)
	if !slices.Contains([]VersionState{VersionActive, VersionDeprecated, VersionRetired}, v.State) {
		p["state"] = "must be active, deprecated or retired"
	}
	return apperr.Fields("invalid version", p)
}

// Validate checks an instance.
func (in Instance) Validate() error {
	p := map[string]string{}
	checkName(p, "id", in.ID)
	checkName(p, "service", in.Service)
	checkName(p, "version", in.Version)
	if host, port, err := net.SplitHostPort(in.Address); err != nil || host == "" || !validPort(port) || len(in.Address) > 255 || !printable(in.Address) {
		p["address"] = "must be host:port"
	}
	if in.Weight < 1 || in.Weight > MaxWeight {
		p["weight"] = fmt.Sprintf("must be between 1 and %d", MaxWeight)
	}
	if len(in.Metadata) > MaxMetadata {
		p["metadata"] = fmt.Sprintf("at most %d entries", MaxMetadata)
	}
	for k, v := range in.Metadata {
		if k == "" || len(k) > 128 || len(v) > MaxValueLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
			p["metadata"] = fmt.Sprintf("keys of 1-128 and values of at most %d bytes of UTF-8", MaxValueLen)
			break
		}
	}
	if in.Source != SourceAPI && in.Source != SourceRegistry {
		p["source"] = "must be api or registry"
	}
	if in.HeartbeatSeconds < 0 || in.HeartbeatSeconds > 86400 {
		p["heartbeat_seconds"] = "must be between 0 (no heartbeat) and 86400"
	}
	return apperr.Fields("invalid instance", p)
}

// printable reports whether s is ASCII without spaces or control
// characters (addresses travel through decide.lua's \x1f-separated reply).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// Validate checks a binding's shape; whether its versions exist and are
// routable is checked against the store by the Manager.
func (b Binding) Validate() error {
	p := map[string]string{}
	checkName(p, "tenant", b.Tenant)
	checkName(p, "service", b.Service)
	switch b.Mode {
	case ModeDefault:
		if b.Version != "" || b.Baseline != "" || b.Candidate != "" || b.Percent != 0 {
			p["mode"] = "default mode takes no version, baseline, candidate or percent"
		}
	case ModePin:
		if !ValidName(b.Version) {
			p["version"] = "pin mode needs a valid version"
		}
		if b.Baseline != "" || b.Candidate != "" || b.Percent != 0 {
			p["mode"] = "pin mode takes no baseline, candidate or percent"
		}
	case ModeSplit:
		if !ValidName(b.Baseline) {
			p["baseline"] = "split mode needs a valid baseline version"
		}
		if !ValidName(b.Candidate) {
			p["candidate"] = "split mode needs a valid candidate version"
		}
		if b.Baseline != "" && b.Baseline == b.Candidate {
			p["candidate"] = "must differ from baseline"
		}
		if b.Version != "" {
			p["version"] = "split mode takes baseline and candidate, not version"
		}
	default:
		p["mode"] = "must be default, pin or split"
	}
	if b.Percent < 0 || b.Percent > 10000 {
		p["percent"] = "must be between 0 and 100"
	}
	if err := validSticky(b.Sticky); err != "" {
		p["sticky"] = err
	}
	if len(b.Salt) > 64 {
		p["salt"] = "at most 64 characters"
	}
	switch b.LaneMode {
	case "", LanePermissive, LaneStrict, LaneIgnore:
	default:
		p["lane_mode"] = "must be permissive, strict or ignore"
	}
	if len(b.Rules) > MaxRules {
		p["rules"] = fmt.Sprintf("at most %d rules", MaxRules)
	}
	for i, r := range b.Rules {
		if len(p) > 0 {
			break
		}
		r.validate(p, fmt.Sprintf("rules[%d]", i))
	}
	return apperr.Fields("invalid binding", p)
}

func validSticky(s string) string {
	if s == "" || s == "key" {
		return ""
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || (kind != "header" && kind != "attribute") || !validField(kind, name) {
		return `must be "key", "header:<name>" or "attribute:<name>"`
	}
	return ""
}

func validField(source, name string) bool {
	if source == "header" {
		return headerRE.MatchString(name)
	}
	return name != "" && len(name) <= 128 && utf8.ValidString(name)
}

func (r Rule) validate(p map[string]string, field string) {
	if !ValidName(r.Version) {
		p[field+".version"] = "must name a version"
	}
	if len(r.When) == 0 || len(r.When) > MaxConditions {
		p[field+".when"] = fmt.Sprintf("must hold 1 to %d conditions", MaxConditions)
	}
	for j, c := range r.When {
		cf := fmt.Sprintf("%s.when[%d]", field, j)
		if c.Source != "header" && c.Source != "attribute" {
			p[cf+".source"] = "must be header or attribute"
			continue
		}
		if !validField(c.Source, c.Name) {
			p[cf+".name"] = "must be a valid " + c.Source + " name"
		}
		switch c.Op {
		case "equals", "prefix":
			if len(c.Values) != 1 {
				p[cf+".values"] = c.Op + " takes exactly one value"
			}
		case "in":
			if len(c.Values) < 1 || len(c.Values) > MaxValues {
				p[cf+".values"] = fmt.Sprintf("in takes 1 to %d values", MaxValues)
			}
		default:
			p[cf+".op"] = "must be equals, in or prefix"
		}
		for _, v := range c.Values {
			if len(v) > MaxValueLen || !utf8.ValidString(v) {
				p[cf+".values"] = fmt.Sprintf("values are UTF-8 of at most %d bytes", MaxValueLen)
			}
		}
	}
}

// Versions returns every version name the binding refers to.
func (b Binding) Versions() []string {
	var vs []string
	for _, v := range []string{b.Version, b.Baseline, b.Candidate} {
		if v != "" {
			vs = append(vs, v)
		}
	}
	for _, r := range b.Rules {
		vs = append(vs, r.Version)
	}
	slices.Sort(vs)
	return slices.Compact(vs)
}

// Normalize lower-cases header names in conditions and sticky sources, sorts
// rules by priority, and fills the default sticky source.
func (b *Binding) Normalize() {
	if b.Mode == "" {
		b.Mode = ModeDefault
	}
	if b.Sticky == "" {
		b.Sticky = "key"
	}
	if b.LaneMode == "" {
		b.LaneMode = LanePermissive
	}
	if name, ok := strings.CutPrefix(b.Sticky, "header:"); ok {
		b.Sticky = "header:" + strings.ToLower(name)
	}
	for i := range b.Rules {
		for j := range b.Rules[i].When {
			if b.Rules[i].When[j].Source == "header" {
				b.Rules[i].When[j].Name = strings.ToLower(b.Rules[i].When[j].Name)
			}
		}
	}
	SortRules(b.Rules)
}

// Validate checks a decision request.
func (r Request) Validate() error {
	p := map[string]string{}
	checkName(p, "tenant", r.Tenant)
	checkName(p, "service", r.Service)
	if len(r.Key) > MaxValueLen {
		p["key"] = fmt.Sprintf("at most %d bytes", MaxValueLen)
	}
	if r.Lane != "" && !ValidName(r.Lane) {
		p["lane"] = "must be a version name"
	}
	if r.Avoid != "" && !ValidName(r.Avoid) {
		p["avoid"] = "must be an instance id"
	}
	if len(r.Attributes) > MaxAttributes {
		p["attributes"] = fmt.Sprintf("at most %d entries", MaxAttributes)
	}
	if len(r.Headers) > MaxAttributes {
		p["headers"] = fmt.Sprintf("at most %d entries", MaxAttributes)
	}
	for k, v := range r.Attributes {
		if !validField("attribute", k) || len(v) > MaxValueLen {
			p["attributes"] = fmt.Sprintf("names of 1-128 bytes, values of at most %d bytes", MaxValueLen)
		}
	}
	for k, v := range r.Headers {
		if !validField("header", k) || len(v) > MaxValueLen {
			p["headers"] = fmt.Sprintf("valid header names, values of at most %d bytes", MaxValueLen)
		}
	}
	return apperr.Fields("invalid resolve request", p)
}

// Validate checks an outcome report.
func (o Outcome) Validate() error {
	p := map[string]string{}
	checkName(p, "service", o.Service)
	checkName(p, "instance", o.Instance)
	if o.LatencyMS < 0 || o.LatencyMS > 3.6e6 {
		p["latency_ms"] = "must be between 0 and 3600000"
	}
	if len(o.Lease) > 64 {
		p["lease"] = "at most 64 characters"
	}
	return apperr.Fields("invalid report", p)
}

// ParseAttributes decodes a JSON object of request attributes. Values may be
// strings, numbers or booleans (kept in their JSON spelling, so 1.50 stays
// "1.50"); null drops the entry; objects and arrays are rejected, since
// rules compare flat values.
func ParseAttributes(data []byte) (map[string]string, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, apperr.New(apperr.Invalid, "attributes must be a JSON object of flat values")
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0:
			continue
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, apperr.New(apperr.Invalid, "attribute %q: invalid string", k)
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			return nil, apperr.New(apperr.Invalid, "attribute %q must be a string, number or boolean", k)
		case string(v) == "null":
		default: // number or boolean, already validated by Unmarshal above
			out[k] = string(v)
		}
	}
	return out, nil
}
