package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/greyrouter/greyrouter/router"
)

// The compact shapes decide.lua reads. Field names are short because every
// decision decodes them.
type svcDoc struct {
	Strategy string `json:"s"`
	Default  string `json:"d"`
	Lease    int    `json:"lease"`
	Count    int    `json:"n"` // routable instances across versions
	Circuit  *cbDoc `json:"cb,omitempty"`
}

type cbDoc struct {
	Consecutive int     `json:"cf"`
	ErrorRate   float64 `json:"er"`
	MinRequests int     `json:"mr"`
	Window      int     `json:"win"`
	Base        int     `json:"base"`
	Max         int     `json:"max"`
	MaxPercent  int     `json:"mep"`
	Panic       int     `json:"panic"`
	Probe       int     `json:"probe"`
}

type bindingDoc struct {
	Mode       string    `json:"m"`
	Version    string    `json:"v,omitempty"`
	Baseline   string    `json:"b,omitempty"`
	Candidate  string    `json:"c,omitempty"`
	BP         int       `json:"bp"`
	StickyFrom string    `json:"st"` // k (request key), h (header) or a (attribute)
	StickyName string    `json:"sn,omitempty"`
	Salt       string    `json:"salt"`
	Rules      []ruleDoc `json:"r,omitempty"`
	LaneMode   string    `json:"lm,omitempty"` // s (strict) or i (ignore); permissive when absent
}

type ruleDoc struct {
	Version string    `json:"v"`
	When    []condDoc `json:"w"`
}

// condDoc.X is a string for equals and prefix, a set object for in.
type condDoc struct {
	Source string `json:"s"`
	Name   string `json:"n"`
	Op     string `json:"o"`
	X      any    `json:"x"`
}

// instDoc.Meta is the metadata already encoded as JSON, so decide.lua
// returns it without re-encoding.
type instDoc struct {
	ID     string `json:"id"`
	Addr   string `json:"a"`
	Weight int    `json:"w"`
	Meta   string `json:"m,omitempty"`
	TTL    int    `json:"t,omitempty"`
}

// wrrCycle encodes one smooth weighted round robin cycle over a version's
// instances as 4 hex digits per step, each a 1-based index into the list.
func wrrCycle(list []instDoc) string {
	weights := make([]int, len(list))
	for i, d := range list {
		weights[i] = d.Weight
	}
	var b strings.Builder
	for _, i := range router.WRRSequence(weights, router.MaxWRRSequence) {
		fmt.Fprintf(&b, "%04x", i+1)
	}
	return b.String()
}

func encodeService(s router.Service, count int) svcDoc {
	d := svcDoc{Strategy: string(s.Strategy), Default: s.DefaultVersion, Lease: s.LeaseSeconds, Count: count}
	c := s.Circuit
	if c.ConsecutiveFailures > 0 || c.ErrorRatePercent > 0 {
		d.Circuit = &cbDoc{
			Consecutive: c.ConsecutiveFailures, ErrorRate: c.ErrorRatePercent, MinRequests: c.MinRequests,
			Window: c.WindowSeconds, Base: c.BaseEjectionSeconds, Max: c.MaxEjectionSeconds,
			MaxPercent: c.MaxEjectionPercent, Panic: c.PanicThresholdPercent, Probe: c.ProbeTimeoutSeconds,
		}
	}
	return d
}

func encodeBinding(b router.Binding) bindingDoc {
	d := bindingDoc{Mode: string(b.Mode), Version: b.Version, Baseline: b.Baseline, Candidate: b.Candidate,
		BP: b.Percent.BasisPoints(), StickyFrom: "k", Salt: b.Salt}
	if kind, name, ok := strings.Cut(b.Sticky, ":"); ok {
		d.StickyFrom, d.StickyName = kind[:1], name
	}
	switch b.LaneMode {
	case router.LaneStrict:
		d.LaneMode = "s"
	case router.LaneIgnore:
		d.LaneMode = "i"
	}
	rules := slices.Clone(b.Rules)
	router.SortRules(rules)
	for _, r := range rules {
		rd := ruleDoc{Version: r.Version}
		for _, c := range r.When {
			cd := condDoc{Source: c.Source[:1], Name: c.Name}
			switch c.Op {
			case "equals":
				cd.Op, cd.X = "e", c.Values[0]
			case "prefix":
				cd.Op, cd.X = "p", c.Values[0]
			case "in":
				set := make(map[string]bool, len(c.Values))
				for _, v := range c.Values {
					set[v] = true
				}
				cd.Op, cd.X = "i", set
			}
			rd.When = append(rd.When, cd)
		}
		d.Rules = append(d.Rules, rd)
	}
	return d
}

// encodeSnapshot turns a snapshot into the cfg hash's field/value pairs and
// the heartbeat seed list, as project.lua takes them.
func encodeSnapshot(s router.Snapshot) (fields []any, seeds string, err error) {
	routable := map[string]bool{}
	for _, v := range s.Versions {
		routable[v.Name] = v.State != router.VersionRetired
	}
	byVersion := map[string][]instDoc{}
	for v, ok := range routable {
		if ok {
			byVersion[v] = []instDoc{}
		}
	}
	type seed [2]any
	seedList := []seed{}
	count := 0
	insts := slices.Clone(s.Instances)
	slices.SortFunc(insts, func(a, b router.Instance) int { return strings.Compare(a.ID, b.ID) })
	for _, in := range insts {
		seedList = append(seedList, seed{in.ID, in.HeartbeatSeconds})
		fields = append(fields, "i:"+in.ID, in.Version)
		if !in.Enabled || in.Draining || !routable[in.Version] {
			continue
		}
		d := instDoc{ID: in.ID, Addr: in.Address, Weight: in.Weight, TTL: in.HeartbeatSeconds}
		if len(in.Metadata) > 0 {
			b, e := json.Marshal(in.Metadata)
			if e != nil {
				return nil, "", fmt.Errorf("encode metadata of %s: %w", in.ID, e)
			}
			d.Meta = string(b)
		}
		byVersion[in.Version] = append(byVersion[in.Version], d)
		count++
	}
	add := func(field string, v any) {
		if err != nil {
			return
		}
		var b []byte
		if b, err = json.Marshal(v); err != nil {
			err = fmt.Errorf("encode %s: %w", field, err)
			return
		}
		fields = append(fields, field, string(b))
	}
	fields = append(fields, "_rev", strconv.FormatInt(s.Revision, 10),
		"_s", string(s.Service.Strategy), "_d", s.Service.DefaultVersion,
		"_lease", strconv.Itoa(s.Service.LeaseSeconds))
	add("_svc", encodeService(s.Service, count))
	for _, v := range s.Versions {
		if v.State == router.VersionDeprecated {
			fields = append(fields, "x:"+v.Name, "1")
		}
	}
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		add("v:"+v, byVersion[v])
		fields = append(fields, "q:"+v, wrrCycle(byVersion[v]))
	}
	bound := map[string]bool{}
	for _, b := range s.Bindings {
		bound[b.Tenant] = true
		add("t:"+b.Tenant, encodeBinding(b))
	}
	for _, t := range s.Tenants {
		if !bound[t] {
			fields = append(fields, "t:"+t, "")
		}
	}
	sb, e := json.Marshal(seedList)
	if err == nil && e != nil {
		err = e
	}
	fields = append(fields, "_sum", checksum(fields, sb))
	return fields, string(sb), err
}

// checksum digests a table's content (every field/value pair but _rev and
// binding-less tenants, plus the heartbeat seeds), so an unchanged table
// need not be rewritten by the periodic resync.
func checksum(fields []any, seeds []byte) string {
	h := sha1.New()
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "_rev" || (strings.HasPrefix(fields[i].(string), "t:") && fields[i+1] == "") {
			continue
		}
		h.Write([]byte(fields[i].(string)))
		h.Write([]byte{0})
		h.Write([]byte(fields[i+1].(string)))
		h.Write([]byte{0})
	}
	h.Write(seeds)
	return hex.EncodeToString(h.Sum(nil))
}
