package privilege

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Condition is a rule's condition as written in a policy document. It is
// exactly one of: a combinator ({"all": [...]}, {"any": [...]},
// {"not": {...}}) or a comparison of an attribute with a literal
// ({"attr": "subject.department", "op": "eq", "value": "sales"}) or with
// another attribute ({"attr": "resource.owner", "op": "eq", "ref":
// "subject.id"}). TZ (an IANA zone) applies to time_between and
// weekday_in only; without it they read the time in UTC.
type Condition struct {
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
	Not   *Condition  `json:"not,omitempty"`
	Attr  string      `json:"attr,omitempty"`
	Op    Operator    `json:"op,omitempty"`
	Value any         `json:"value,omitempty"`
	Ref   string      `json:"ref,omitempty"`
	TZ    string      `json:"tz,omitempty"`
}

// Operator compares an attribute with a value or another attribute.
type Operator string

// Operators. Which apply depends on the attribute's type (see opsByType).
const (
	OpEq          Operator = "eq"
	OpNe          Operator = "ne"
	OpIn          Operator = "in"
	OpNotIn       Operator = "not_in"
	OpLt          Operator = "lt"
	OpLe          Operator = "le"
	OpGt          Operator = "gt"
	OpGe          Operator = "ge"
	OpContains    Operator = "contains"    // list contains value; string contains substring
	OpStartsWith  Operator = "starts_with" // string prefix
	OpCIDR        Operator = "cidr"        // ip within a CIDR or any of a list of CIDRs
	OpTimeBetween Operator = "time_between"
	OpWeekdayIn   Operator = "weekday_in"
)

// opsByType lists the operators each attribute type accepts.
var opsByType = map[AttrType][]Operator{
	TypeString:     {OpEq, OpNe, OpIn, OpNotIn, OpContains, OpStartsWith},
	TypeNumber:     {OpEq, OpNe, OpIn, OpNotIn, OpLt, OpLe, OpGt, OpGe},
	TypeBool:       {OpEq, OpNe},
	TypeTime:       {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpTimeBetween, OpWeekdayIn},
	TypeIP:         {OpEq, OpNe, OpIn, OpNotIn, OpCIDR},
	TypeStringList: {OpContains},
}

var allOps = []Operator{OpEq, OpNe, OpIn, OpNotIn, OpLt, OpLe, OpGt, OpGe, OpContains, OpStartsWith, OpCIDR, OpTimeBetween, OpWeekdayIn}

// Limits on one rule's condition, so that publishing cannot build an
// evaluator that is slow or deep enough to matter.
const (
	MaxConditionDepth = 16
	MaxConditionNodes = 128
	MaxConditionList  = 1024
)

// evalEnv is what a compiled condition reads: the request and the check's
// time (env.time when the request carries none).
type evalEnv struct {
	req Request
	now time.Time
	// roles, when set, supplies subject.roles (from RBAC) instead of the
	// request's attributes; rolesDone and rolesVal memoize it.
	roles     func() []string
	rolesDone bool
	rolesVal  []string
}

// evalFunc is a compiled condition. An error means the condition could not
// be evaluated (a missing attribute, a value of the wrong type); the caller
// decides what that means for its rule.
type evalFunc func(*evalEnv) (bool, error)

// condCompiler turns Conditions into evalFuncs once, at publish time,
// collecting every problem with its location inside the condition.
type condCompiler struct {
	schema   *Schema
	zones    map[string]*time.Location
	problems []string
	nodes    int
}

func (cc *condCompiler) fail(at, format string, args ...any) evalFunc {
	cc.problems = append(cc.problems, at+": "+fmt.Sprintf(format, args...))
	return nil
}

// compile returns the evaluator for c, or nil after recording problems.
func (cc *condCompiler) compile(c *Condition, at string, depth int) evalFunc {
	cc.nodes++
	if depth > MaxConditionDepth {
		return cc.fail(at, "nested deeper than %d", MaxConditionDepth)
	}
	if cc.nodes > MaxConditionNodes {
		if cc.nodes == MaxConditionNodes+1 {
			return cc.fail(at, "a condition has at most %d parts", MaxConditionNodes)
		}
		return nil
	}
	forms := 0
	for _, set := range []bool{c.All != nil, c.Any != nil, c.Not != nil, c.isComparison()} {
		if set {
			forms++
		}
	}
	switch {
	case forms == 0:
		return cc.fail(at, "empty condition: want all, any, not or a comparison (attr, op, value or ref)")
	case forms > 1:
		return cc.fail(at, "mixes forms: a condition is exactly one of all, any, not or a comparison")
	case c.Not != nil:
		f := cc.compile(c.Not, at+".not", depth+1)
		if f == nil {
			return nil
		}
		return func(e *evalEnv) (bool, error) {
			ok, err := f(e)
			return !ok && err == nil, err
		}
	case c.All != nil:
		return cc.combinator("all", c.All, at, depth, condAll)
	case c.Any != nil:
		return cc.combinator("any", c.Any, at, depth, condAny)
	}
	return cc.comparison(c, at)
}

func (c *Condition) isComparison() bool {
	return c.Attr != "" || c.Op != "" || c.Value != nil || c.Ref != "" || c.TZ != ""
}

func (cc *condCompiler) combinator(name string, parts []Condition, at string, depth int, join func([]evalFunc) evalFunc) evalFunc {
	if len(parts) == 0 {
		return cc.fail(at, "%s needs at least one condition", name)
	}
	fs := make([]evalFunc, len(parts))
	ok := true
	for i := range parts {
		fs[i] = cc.compile(&parts[i], at+"."+name+"["+strconv.Itoa(i)+"]", depth+1)
		ok = ok && fs[i] != nil
	}
	if !ok {
		return nil
	}
	if len(fs) == 1 {
		return fs[0]
	}
	return join(fs)
}

// condAll is true when every part is. A false part decides even when another
// part is in error (false and unknown is false); otherwise an error wins.
func condAll(fs []evalFunc) evalFunc {
	return func(e *evalEnv) (bool, error) {
		var first error
		for _, f := range fs {
			ok, err := f(e)
			switch {
			case err != nil:
				if first == nil {
					first = err
				}
			case !ok:
				return false, nil
			}
		}
		return first == nil, first
	}
}

// condAny is true when some part is, even when another part is in error.
func condAny(fs []evalFunc) evalFunc {
	return func(e *evalEnv) (bool, error) {
		var first error
		for _, f := range fs {
			ok, err := f(e)
			switch {
			case err != nil:
				if first == nil {
					first = err
				}
			case ok:
				return true, nil
			}
		}
		return false, first
	}
}

// comparison type-checks a comparison and dispatches on the attribute type.
func (cc *condCompiler) comparison(c *Condition, at string) evalFunc {
	if c.Attr == "" {
		return cc.fail(at, "attr is required")
	}
	typ, known := cc.schema.Lookup(c.Attr)
	if !known {
		return cc.fail(at, "unknown attribute %q", c.Attr)
	}
	if !slices.Contains(allOps, c.Op) {
		return cc.fail(at, "unknown operator %q", c.Op)
	}
	if !slices.Contains(opsByType[typ], c.Op) {
		return cc.fail(at, "operator %s does not apply to %s (a %s; it takes %v)", c.Op, c.Attr, typ, opsByType[typ])
	}
	if c.TZ != "" && c.Op != OpTimeBetween && c.Op != OpWeekdayIn {
		return cc.fail(at, "tz applies only to time_between and weekday_in")
	}
	switch {
	case c.Value != nil && c.Ref != "":
		return cc.fail(at, "value and ref are exclusive")
	case c.Value == nil && c.Ref == "":
		return cc.fail(at, "needs a value or a ref")
	}
	var ref *attrGetter
	if c.Ref != "" {
		rt, ok := cc.schema.Lookup(c.Ref)
		if !ok {
			return cc.fail(at, "unknown attribute %q in ref", c.Ref)
		}
		ref = newAttrGetter(c.Ref, rt)
	}
	left := newAttrGetter(c.Attr, typ)
	var f evalFunc
	var msg string
	switch typ {
	case TypeString:
		f, msg = compileString(c, left, ref)
	case TypeNumber:
		f, msg = compileNumber(c, left, ref)
	case TypeBool:
		f, msg = compileBool(c, left, ref)
	case TypeTime:
		f, msg = cc.compileTime(c, left, ref)
	case TypeIP:
		f, msg = compileIP(c, left, ref)
	case TypeStringList:
		f, msg = compileStringList(c, left, ref)
	}
	if msg != "" {
		return cc.fail(at, "%s %s: %s", c.Attr, c.Op, msg)
	}
	return f
}

// condRefMismatch is the message for a ref of the wrong type.
func condRefMismatch(ref *attrGetter, want AttrType) string {
	return fmt.Sprintf("ref %s is a %s, want a %s", ref.path, ref.typ, want)
}

// condList returns v as a non-empty list of at most MaxConditionList items.
func condList(v any) ([]any, string) {
	var l []any
	switch x := v.(type) {
	case []any:
		l = x
	case []string:
		l = make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
	default:
		return nil, fmt.Sprintf("value must be a list, got %s", condDescribe(v))
	}
	if len(l) == 0 || len(l) > MaxConditionList {
		return nil, fmt.Sprintf("value must be a list of 1 to %d items", MaxConditionList)
	}
	return l, ""
}

// describe names a literal's JSON type for messages.
func condDescribe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	if _, ok := attrNumber(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
