package privilege

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"
)

// Each compileX type-checks an operator and its value or ref for one
// attribute type and returns the evaluator, or a message saying what is
// wrong. Literals are parsed here, once.

func compileString(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	switch c.Op {
	case OpIn, OpNotIn:
		neg := c.Op == OpNotIn
		if ref != nil {
			if ref.typ != TypeStringList {
				return nil, condRefMismatch(ref, TypeStringList)
			}
			return func(e *evalEnv) (bool, error) {
				s, err := left.str(e)
				if err != nil {
					return false, err
				}
				found, err := ref.listHas(e, s)
				return found != neg && err == nil, err
			}, ""
		}
		items, msg := condList(c.Value)
		if msg != "" {
			return nil, msg
		}
		set := make(map[string]struct{}, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Sprintf("value[%d] must be a string, got %s", i, condDescribe(it))
			}
			set[s] = struct{}{}
		}
		return condTest(left.str, func(s string) bool { _, ok := set[s]; return ok != neg }), ""
	}
	var test func(a, b string) bool
	switch c.Op {
	case OpEq:
		test = func(a, b string) bool { return a == b }
	case OpNe:
		test = func(a, b string) bool { return a != b }
	case OpContains:
		test = strings.Contains
	default: // OpStartsWith
		test = strings.HasPrefix
	}
	if ref != nil {
		if ref.typ != TypeString {
			return nil, condRefMismatch(ref, TypeString)
		}
		return condCompare(left.str, ref.str, test), ""
	}
	lit, ok := c.Value.(string)
	if !ok {
		return nil, fmt.Sprintf("value must be a string, got %s", condDescribe(c.Value))
	}
	return condTest(left.str, func(s string) bool { return test(s, lit) }), ""
}

func compileNumber(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	if c.Op == OpIn || c.Op == OpNotIn {
		if ref != nil {
			return nil, "takes a value (a list of numbers), not a ref"
		}
		items, msg := condList(c.Value)
		if msg != "" {
			return nil, msg
		}
		set := make(map[float64]struct{}, len(items))
		for i, it := range items {
			n, ok := attrNumber(it)
			if !ok {
				return nil, fmt.Sprintf("value[%d] must be a number, got %s", i, condDescribe(it))
			}
			set[n] = struct{}{}
		}
		neg := c.Op == OpNotIn
		return condTest(left.num, func(n float64) bool { _, ok := set[n]; return ok != neg }), ""
	}
	order := condOrder(c.Op)
	if ref != nil {
		if ref.typ != TypeNumber {
			return nil, condRefMismatch(ref, TypeNumber)
		}
		return condCompare(left.num, ref.num, func(a, b float64) bool { return order(cmp.Compare(a, b)) }), ""
	}
	lit, ok := attrNumber(c.Value)
	if !ok {
		return nil, fmt.Sprintf("value must be a number, got %s", condDescribe(c.Value))
	}
	return condTest(left.num, func(n float64) bool { return order(cmp.Compare(n, lit)) }), ""
}

func compileBool(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	eq := c.Op == OpEq
	if ref != nil {
		if ref.typ != TypeBool {
			return nil, condRefMismatch(ref, TypeBool)
		}
		return condCompare(left.boolean, ref.boolean, func(a, b bool) bool { return (a == b) == eq }), ""
	}
	lit, ok := c.Value.(bool)
	if !ok {
		return nil, fmt.Sprintf("value must be a bool, got %s", condDescribe(c.Value))
	}
	return condTest(left.boolean, func(b bool) bool { return (b == lit) == eq }), ""
}

func compileIP(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	switch c.Op {
	case OpEq, OpNe:
		eq := c.Op == OpEq
		if ref != nil {
			if ref.typ != TypeIP {
				return nil, condRefMismatch(ref, TypeIP)
			}
			return condCompare(left.ip, ref.ip, func(a, b netip.Addr) bool { return (a == b) == eq }), ""
		}
		lit, ok := parseIPLiteral(c.Value)
		if !ok {
			return nil, fmt.Sprintf("value must be an IP address, got %s", condLiteral(c.Value))
		}
		return condTest(left.ip, func(a netip.Addr) bool { return (a == lit) == eq }), ""
	case OpIn, OpNotIn:
		if ref != nil {
			return nil, "takes a value (a list of IP addresses), not a ref"
		}
		items, msg := condList(c.Value)
		if msg != "" {
			return nil, msg
		}
		set := make(map[netip.Addr]struct{}, len(items))
		for i, it := range items {
			a, ok := parseIPLiteral(it)
			if !ok {
				return nil, fmt.Sprintf("value[%d] must be an IP address, got %s", i, condLiteral(it))
			}
			set[a] = struct{}{}
		}
		neg := c.Op == OpNotIn
		return condTest(left.ip, func(a netip.Addr) bool { _, ok := set[a]; return ok != neg }), ""
	}
	// OpCIDR
	if ref != nil {
		return nil, "takes a value (a CIDR or a list of CIDRs), not a ref"
	}
	items := []any{c.Value}
	if _, isStr := c.Value.(string); !isStr {
		var msg string
		if items, msg = condList(c.Value); msg != "" {
			return nil, "value must be a CIDR or a list of CIDRs"
		}
	}
	prefixes := make([]netip.Prefix, len(items))
	for i, it := range items {
		s, _ := it.(string)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Sprintf("%s is not a CIDR such as 10.0.0.0/8", condLiteral(it))
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		prefixes[i] = p.Masked()
	}
	return condTest(left.ip, func(a netip.Addr) bool {
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}), ""
}

func parseIPLiteral(v any) (netip.Addr, bool) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func compileStringList(c *Condition, left, ref *attrGetter) (evalFunc, string) {
	// OpContains
	if ref != nil {
		if ref.typ != TypeString {
			return nil, condRefMismatch(ref, TypeString)
		}
		return func(e *evalEnv) (bool, error) {
			s, err := ref.str(e)
			if err != nil {
				return false, err
			}
			return left.listHas(e, s)
		}, ""
	}
	lit, ok := c.Value.(string)
	if !ok {
		return nil, fmt.Sprintf("value must be a string, got %s", condDescribe(c.Value))
	}
	return func(e *evalEnv) (bool, error) { return left.listHas(e, lit) }, ""
}

// listHas reports whether the list_string attribute holds s. A list with a
// non-string item is an error, wherever the item is.
func (g *attrGetter) listHas(e *evalEnv, s string) (bool, error) {
	strs, anys, err := g.strList(e)
	if err != nil {
		return false, err
	}
	found := false
	for _, x := range strs {
		found = found || x == s
	}
	for _, x := range anys {
		xs, ok := x.(string)
		if !ok {
			return false, fmt.Errorf("%s: holds %s, want only strings", g.path, condDescribe(x))
		}
		found = found || xs == s
	}
	return found, nil
}

// condOrder turns an ordering operator into a test of a cmp result.
func condOrder(op Operator) func(int) bool {
	switch op {
	case OpEq:
		return func(c int) bool { return c == 0 }
	case OpNe:
		return func(c int) bool { return c != 0 }
	case OpLt:
		return func(c int) bool { return c < 0 }
	case OpLe:
		return func(c int) bool { return c <= 0 }
	case OpGt:
		return func(c int) bool { return c > 0 }
	}
	return func(c int) bool { return c >= 0 } // OpGe
}

// condTest evaluates test on one attribute.
func condTest[T any](get func(*evalEnv) (T, error), test func(T) bool) evalFunc {
	return func(e *evalEnv) (bool, error) {
		v, err := get(e)
		if err != nil {
			return false, err
		}
		return test(v), nil
	}
}

// condCompare evaluates test on two attributes.
func condCompare[T any](left, right func(*evalEnv) (T, error), test func(a, b T) bool) evalFunc {
	return func(e *evalEnv) (bool, error) {
		a, err := left(e)
		if err != nil {
			return false, err
		}
		b, err := right(e)
		if err != nil {
			return false, err
		}
		return test(a, b), nil
	}
}

// condLiteral quotes a literal for messages, briefly.
func condLiteral(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	return condDescribe(v)
}
