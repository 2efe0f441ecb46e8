package router

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Buckets is the number of sticky buckets; Percent basis points compare to it.
const Buckets = 10000

// Bucket maps (salt, tenant, key) to 0..9999. It is the first 32 bits of
// SHA-1 over "salt:tenant:key", big-endian, modulo 10000: the decision script
// computes exactly this with redis.sha1hex, and the SDK can compute it
// in-process, so every decider agrees.
func Bucket(salt, tenant, key string) int {
	var buf [128]byte // usual inputs hash without a heap allocation
	h := sha1.Sum(join3(buf[:0], salt, tenant, key))
	return int(binary.BigEndian.Uint32(h[:4]) % Buckets)
}

// join3 appends "a:b:c" to dst.
func join3(dst []byte, a, b, c string) []byte {
	dst = append(dst, a...)
	dst = append(dst, ':')
	dst = append(dst, b...)
	dst = append(dst, ':')
	return append(dst, c...)
}

// InCandidate reports whether a bucket falls in a split's candidate share.
// Since the bucket of a key never changes, raising the percentage only ever
// moves keys from the baseline to the candidate.
func InCandidate(bucket int, p Percent) bool { return bucket < p.BasisPoints() }

// Lookup returns the request value a condition or sticky source refers to.
func (r Request) Lookup(source, name string) (string, bool) {
	switch source {
	case "header":
		v, ok := r.Headers[strings.ToLower(name)]
		return v, ok
	case "attribute":
		v, ok := r.Attributes[name]
		return v, ok
	}
	return "", false
}

// Matches reports whether the request satisfies the condition.
func (c Condition) Matches(r Request) bool {
	v, ok := r.Lookup(c.Source, c.Name)
	if !ok {
		return false
	}
	switch c.Op {
	case "equals":
		return len(c.Values) == 1 && v == c.Values[0]
	case "in":
		return slices.Contains(c.Values, v)
	case "prefix":
		return len(c.Values) == 1 && strings.HasPrefix(v, c.Values[0])
	}
	return false
}

// Matches reports whether every condition of the rule holds.
func (r Rule) Matches(req Request) bool {
	for _, c := range r.When {
		if !c.Matches(req) {
			return false
		}
	}
	return true
}

// StickyKey returns the sticky key named by the binding's Sticky source and
// where it came from; "" when the request carries none.
func (b Binding) StickyKey(req Request) string {
	src := b.Sticky
	if src == "" || src == "key" {
		return req.Key
	}
	kind, name, _ := strings.Cut(src, ":")
	v, _ := req.Lookup(kind, name)
	return v
}

// VersionChoice is the outcome of the version step of a decision.
type VersionChoice struct {
	Version string
	Reason  string
	// Rule is the 1-based index of the deciding rule in priority order.
	Rule int
	// Bucket is the sticky bucket for splits, -1 when none was computed.
	Bucket int
	// Lane is the lane the request travels in after this hop (LaneAfter).
	Lane string
}

// LaneSupply is what a service offers a request's lane.
type LaneSupply int

// Lane supplies.
const (
	// LaneAbsent: the service has no routable version named like the lane.
	LaneAbsent LaneSupply = iota
	// LaneDown: it has one, without a usable instance right now (none
	// live, or all ejected with no probe due).
	LaneDown
	// LaneUp: it has one with a usable instance.
	LaneUp
)

// ChooseVersion is the pure version step shared by every decider. A
// request in a lane whose binding does not ignore lanes goes to the
// service's version of that name when the service offers it (supply is
// LaneUp). Otherwise a permissive binding (or no binding) goes on as
// without a lane, and a strict one fails: not found when the version is
// absent (ErrNoLane), and, when it is down, with the lane's version
// chosen, so that the instance step fails as for any version. Then:
// match rules by priority, then the pin or the sticky split, then the
// service default. Rules must already be sorted (SortRules). A split
// without a sticky key uses random (0 <= random < 1) to pick a bucket,
// unsticky.
func ChooseVersion(svc *Service, b *Binding, req *Request, random float64, supply LaneSupply) (VersionChoice, error) {
	if req.Lane != "" {
		mode := LanePermissive
		if b != nil && b.LaneMode != "" {
			mode = b.LaneMode
		}
		switch {
		case mode == LaneIgnore:
		case supply == LaneUp || supply == LaneDown && mode == LaneStrict:
			return VersionChoice{Version: req.Lane, Reason: "lane", Bucket: -1, Lane: req.Lane}, nil
		case mode == LaneStrict:
			return VersionChoice{}, apperr.Wrap(apperr.NotFound, ErrNoLane,
				fmt.Sprintf("no route: service %q has no version for lane %q and tenant %q's binding is strict", svc.Name, req.Lane, req.Tenant))
		}
	}
	vc := chooseOutsideLane(svc.DefaultVersion, b, req, random)
	vc.Lane = LaneAfter(req.Lane, vc.Version, svc.DefaultVersion)
	return vc, nil
}

// ErrNoLane is wrapped by the error of a strict binding's decision for a
// lane the service has no version for.
var ErrNoLane = errors.New("no version for the lane")

// LaneAfter is the lane a request travels in after a hop that chose
// version: the lane it came in, else the version when it is not the
// service's default one, else none (the baseline). So a request sent to
// a canary or pinned version of one service enters that version's lane.
func LaneAfter(in, version, defaultVersion string) string {
	if in != "" {
		return in
	}
	if version != defaultVersion {
		return version
	}
	return ""
}

func chooseOutsideLane(defaultVersion string, b *Binding, req *Request, random float64) VersionChoice {
	if b != nil {
		for i, r := range b.Rules {
			if r.Matches(*req) {
				return VersionChoice{Version: r.Version, Reason: "rule", Rule: i + 1, Bucket: -1}
			}
		}
		switch b.Mode {
		case ModePin:
			return VersionChoice{Version: b.Version, Reason: "pin", Bucket: -1}
		case ModeSplit:
			var bucket int
			if key := b.StickyKey(*req); key != "" {
				bucket = Bucket(b.Salt, req.Tenant, key)
			} else {
				bucket = int(random * Buckets)
			}
			if InCandidate(bucket, b.Percent) {
				return VersionChoice{Version: b.Candidate, Reason: "split_candidate", Bucket: bucket}
			}
			return VersionChoice{Version: b.Baseline, Reason: "split_baseline", Bucket: bucket}
		}
	}
	return VersionChoice{Version: defaultVersion, Reason: "default", Bucket: -1}
}

// SortRules orders rules by ascending priority, keeping the given order for
// equal priorities.
func SortRules(rules []Rule) {
	slices.SortStableFunc(rules, func(a, b Rule) int { return a.Priority - b.Priority })
}

// SmoothWRR is one step of smooth weighted round robin (as in nginx): every
// current weight grows by its weight, the largest wins and gives back the
// total. Over any window of sum(weights) picks each index is chosen exactly
// weight times, interleaved. current is updated in place.
func SmoothWRR(weights, current []int) int {
	best, total := -1, 0
	for i, w := range weights {
		current[i] += w
		total += w
		if best < 0 || current[i] > current[best] {
			best = i
		}
	}
	if best >= 0 {
		current[best] -= total
	}
	return best
}

// HashScore is the weighted rendezvous (highest random weight) score of an
// instance for a key: -weight / ln(u), with u in (0,1) derived from SHA-1 of
// "key:id". The instance with the highest score wins; adding or removing one
// instance moves only the keys that instance wins or held.
func HashScore(key, id string, weight int) float64 {
	var buf [128]byte
	b := append(append(append(buf[:0], key...), ':'), id...)
	h := sha1.Sum(b)
	u := (float64(binary.BigEndian.Uint32(h[:4])) + 0.5) / 4294967296.0
	return -float64(weight) / math.Log(u)
}

// MaxWRRSequence bounds the precomputed smooth weighted round robin cycle.
const MaxWRRSequence = 2048

// WRRSequence returns one full cycle of smooth weighted round robin over
// weights, as indexes into weights. Weights are first divided by their
// greatest common divisor, so 100:200:300 cycles like 1:2:3. When the cycle
// would still be longer than maxLen, weights are scaled down to fit (each
// at least 1), and proportions are exact only to 1/maxLen. Deciders walk the
// cycle with a shared counter, so every replica follows the same sequence
// and any window of one cycle holds each instance exactly its share.
func WRRSequence(weights []int, maxLen int) []int {
	if len(weights) == 0 {
		return nil
	}
	w := slices.Clone(weights)
	reduce := func() int {
		g, sum := 0, 0
		for _, x := range w {
			g = gcd(g, x)
		}
		for i := range w {
			w[i] /= g
			sum += w[i]
		}
		return sum
	}
	sum := reduce()
	if sum > maxLen {
		for i, x := range w {
			w[i] = max(1, x*maxLen/sum)
		}
		sum = reduce()
		for sum > maxLen { // many weights rounded up to 1: trim the largest
			i := 0
			for j := range w {
				if w[j] > w[i] {
					i = j
				}
			}
			w[i]--
			sum--
		}
	}
	seq := make([]int, 0, sum)
	cur := make([]int, len(w))
	for range sum {
		seq = append(seq, SmoothWRR(w, cur))
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
