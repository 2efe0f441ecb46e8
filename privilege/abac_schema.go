package privilege

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// AttrType is the type of an ABAC attribute. Conditions are type-checked
// against it when policies are published, so a typo or a string compared
// with lt is a 422 at write time instead of a surprise at check time.
type AttrType string

// Attribute types.
const (
	TypeString     AttrType = "string"
	TypeNumber     AttrType = "number"
	TypeBool       AttrType = "bool"
	TypeTime       AttrType = "time"        // time.Time or an RFC 3339 string
	TypeIP         AttrType = "ip"          // netip.Addr, net.IP or a string
	TypeStringList AttrType = "list_string" // []string or []any of strings
)

var attrTypes = []AttrType{TypeString, TypeNumber, TypeBool, TypeTime, TypeIP, TypeStringList}

// builtinAttrs are known to every tenant. subject.id, resource.name and
// action come from the Request's fields; subject.roles from
// Subject.Attributes["roles"]; env.time defaults to the check's time.
var builtinAttrs = map[string]AttrType{
	"subject.id":    TypeString,
	"subject.roles": TypeStringList,
	"resource.name": TypeString,
	"action":        TypeString,
	"env.time":      TypeTime,
	"env.ip":        TypeIP,
}

// MaxDeclaredAttrs bounds a tenant's schema.
const MaxDeclaredAttrs = 256

var attrPathRE = regexp.MustCompile(`^(subject|resource|env)\.[A-Za-z0-9_][A-Za-z0-9_.-]{0,126}$`)

// Schema maps attribute paths to types: the built-ins plus what a tenant
// declares. The zero Schema holds the built-ins only. Copies share their
// declarations, so declare everything before compiling.
type Schema struct {
	declared map[string]AttrType
}

// Declare adds an attribute. Paths start with subject., resource. or env.;
// re-declaring a path (or a built-in) with another type is an error.
func (s *Schema) Declare(path string, t AttrType) error {
	if msg := s.declare(path, t); msg != "" {
		return apperr.Fields("invalid attribute declaration", map[string]string{"schema[" + path + "]": msg})
	}
	return nil
}

func (s *Schema) declare(path string, t AttrType) string {
	known, ok := s.Lookup(path)
	switch {
	case ok && known != t:
		return fmt.Sprintf("already declared as %s", known)
	case ok:
		return ""
	case !isAttrType(t):
		return fmt.Sprintf("unknown type %q (want one of %v)", t, attrTypes)
	case !attrPathRE.MatchString(path) || strings.Contains(path, ".."):
		return "must be subject.<name>, resource.<name> or env.<name> (letters, digits, '_', '-', '.')"
	case len(s.declared) >= MaxDeclaredAttrs:
		return fmt.Sprintf("a schema declares at most %d attributes", MaxDeclaredAttrs)
	}
	if s.declared == nil {
		s.declared = map[string]AttrType{}
	}
	s.declared[path] = t
	return ""
}

// Lookup returns the type of an attribute path.
func (s Schema) Lookup(path string) (AttrType, bool) {
	if t, ok := builtinAttrs[path]; ok {
		return t, true
	}
	t, ok := s.declared[path]
	return t, ok
}

// MarshalJSON writes the declared attributes (not the built-ins) as
// {"subject.department": "string", ...}.
func (s Schema) MarshalJSON() ([]byte, error) {
	if s.declared == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(s.declared)
}

// UnmarshalJSON declares every attribute of {"path": "type", ...}.
func (s *Schema) UnmarshalJSON(b []byte) error {
	var m map[string]AttrType
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	problems := map[string]string{}
	for _, path := range slices.Sorted(maps.Keys(m)) {
		if msg := s.declare(path, m[path]); msg != "" {
			problems["schema["+path+"]"] = msg
		}
	}
	return apperr.Fields("invalid attribute schema", problems)
}

func isAttrType(t AttrType) bool { return slices.Contains(attrTypes, t) }
