package privilege_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// abacFixture is a policy set with its schema, as in testdata/abac/*.json;
// valid fixtures carry request cases, invalid ones the exact detail keys
// CompilePolicies must report, each with a fragment of its message.
type abacFixture struct {
	Description string              `json:"description"`
	Tenant      string              `json:"tenant"`
	Algorithm   privilege.Algorithm `json:"algorithm"`
	Schema      json.RawMessage     `json:"schema"`
	Policies    json.RawMessage     `json:"policies"`
	Cases       []struct {
		Name          string            `json:"name"`
		Now           time.Time         `json:"now"`
		Request       privilege.Request `json:"request"`
		Allowed       bool              `json:"allowed"`
		Deciding      string            `json:"deciding"` // "policy/rule", "" for default deny
		DecidingError bool              `json:"deciding_error"`
		Skipped       []string          `json:"skipped"`
	} `json:"cases"`
	Errors map[string]string `json:"errors"`
}

func loadABACFixture(t *testing.T, path string) (abacFixture, privilege.Schema, []privilege.Policy) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f abacFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var schema privilege.Schema
	if len(f.Schema) > 0 {
		if err := json.Unmarshal(f.Schema, &schema); err != nil {
			t.Fatalf("%s: schema: %v %v", path, err, apperr.DetailsOf(err))
		}
	}
	policies, err := privilege.ParsePolicies(f.Policies)
	if err != nil {
		t.Fatalf("%s: policies: %v", path, err)
	}
	return f, schema, policies
}

func abacFixtures(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "abac", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures %s: %v", pattern, err)
	}
	return files
}

func abacDetails(err error) map[string]string { return apperr.DetailsOf(err) }

func abacVoteName(v *privilege.Vote) string {
	if v == nil {
		return ""
	}
	return v.PolicyID + "/" + v.RuleID
}

func TestGoldenPolicySetsDecideAsRecorded(t *testing.T) {
	for _, path := range abacFixtures(t, "*.json") {
		f, schema, policies := loadABACFixture(t, path)
		a, err := privilege.CompilePolicies(f.Tenant, schema, f.Algorithm, policies)
		if err != nil {
			t.Fatalf("%s: %v %v", path, err, abacDetails(err))
		}
		if len(f.Cases) == 0 {
			t.Fatalf("%s has no cases", path)
		}
		for _, c := range f.Cases {
			t.Run(filepath.Base(path)+": "+c.Name, func(t *testing.T) {
				now := c.Now
				if now.IsZero() {
					now = abacTestNow
				}
				req := c.Request
				if req.Tenant == "" {
					req.Tenant = f.Tenant
				}
				res := a.Evaluate(req, now)
				allowed, deciding := privilege.Combine(f.Algorithm, res.Votes)
				if allowed != c.Allowed || abacVoteName(deciding) != c.Deciding {
					t.Fatalf("got allowed=%v deciding=%q, want %v %q; votes %+v", allowed, abacVoteName(deciding), c.Allowed, c.Deciding, res.Votes)
				}
				if got := deciding != nil && deciding.Error != ""; got != c.DecidingError {
					t.Fatalf("deciding vote in error: got %v, want %v (%+v)", got, c.DecidingError, deciding)
				}
				var skipped []string
				for i := range res.Skipped {
					skipped = append(skipped, abacVoteName(&res.Skipped[i]))
				}
				if !slices.Equal(skipped, c.Skipped) {
					t.Fatalf("skipped %v, want %v", skipped, c.Skipped)
				}
			})
		}
	}
}

func TestInvalidPolicySetsReportEachOffendingRule(t *testing.T) {
	for _, path := range abacFixtures(t, filepath.Join("invalid", "*.json")) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, schema, policies := loadABACFixture(t, path)
			if len(f.Errors) == 0 {
				t.Fatal("fixture lists no errors")
			}
			a, err := privilege.CompilePolicies(f.Tenant, schema, f.Algorithm, policies)
			if err == nil {
				t.Fatalf("compiled %d policies", a.Len())
			}
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("error %v has code %s, want unprocessable", err, apperr.CodeOf(err))
			}
			got := abacDetails(err)
			for _, k := range slices.Sorted(maps.Keys(got)) {
				t.Logf("%s: %s", k, got[k])
			}
			gotKeys, wantKeys := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(f.Errors))
			if !slices.Equal(gotKeys, wantKeys) {
				t.Fatalf("detail keys\n got %q\nwant %q\ndetails %q", gotKeys, wantKeys, got)
			}
			for k, fragment := range f.Errors {
				if !strings.Contains(got[k], fragment) {
					t.Errorf("%s: %q does not mention %q", k, got[k], fragment)
				}
			}
		})
	}
}
