package privilege

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
)

// rbacFixture is one file in testdata/rbac: a role set with assignments
// and the votes (and "who can" answers) it must give, or the error it
// must be rejected with.
type rbacFixture struct {
	Description string       `json:"description"`
	Tenant      string       `json:"tenant"`
	Roles       []Role       `json:"roles"`
	Assignments []Assignment `json:"assignments"`
	Checks      []struct {
		Name     string    `json:"name"`
		Subject  string    `json:"subject"`
		Resource string    `json:"resource"`
		Action   string    `json:"action"`
		Now      time.Time `json:"now"`
		Votes    []Vote    `json:"votes"`
	} `json:"checks"`
	Who []struct {
		Resource string    `json:"resource"`
		Action   string    `json:"action"`
		Now      time.Time `json:"now"`
		Subjects []string  `json:"subjects"`
	} `json:"who"`
	Error *struct {
		Message string            `json:"message"`
		Details map[string]string `json:"details"`
	} `json:"error"`
}

func TestRBACGoldenFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rbac", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d fixtures in testdata/rbac", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var fx rbacFixture
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&fx); err != nil {
				t.Fatalf("decode: %v", err)
			}
			r, err := CompileRBAC(fx.Tenant, fx.Roles, fx.Assignments)
			if fx.Error != nil {
				if !apperr.Is(err, apperr.Unprocessable) || err.Error() != fx.Error.Message {
					t.Fatalf("err = %v, want unprocessable %q", err, fx.Error.Message)
				}
				if got := apperr.DetailsOf(err); !maps.Equal(got, fx.Error.Details) {
					t.Fatalf("details\n got  %q\n want %q", got, fx.Error.Details)
				}
				return
			}
			if err != nil {
				t.Fatalf("compile: %v %v", err, apperr.DetailsOf(err))
			}
			if len(fx.Checks) == 0 {
				t.Fatal("a valid fixture needs checks")
			}
			for _, c := range fx.Checks {
				got := rbacVoteStrings(r.Votes(c.Subject, c.Resource, c.Action, c.Now))
				if want := rbacVoteStrings(c.Votes); !slices.Equal(got, want) {
					t.Errorf("%s: Votes(%s, %s, %s)\n got  %q\n want %q", c.Name, c.Subject, c.Resource, c.Action, got, want)
				}
			}
			for _, w := range fx.Who {
				if got := r.SubjectsWith(w.Resource, w.Action, w.Now); !slices.Equal(got, w.Subjects) {
					t.Errorf("SubjectsWith(%s, %s) at %s = %q, want %q", w.Resource, w.Action, w.Now.Format(time.RFC3339), got, w.Subjects)
				}
			}
		})
	}
}
