package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBadInputGetsAClearErrorAndChangesNothing sends every write route
// (and the checks) requests that must be refused: each gets a 4xx in the
// one error shape naming the problem, and no version moves.
func TestBadInputGetsAClearErrorAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	// The seed's settings change, so the seed revision (1) can no longer
	// be rolled back.
	f.do(t, "acme-admin", "PUT", acme+"/settings", map[string]any{"schema": map[string]string{"resource.owner": "string"}, "audit_sample_rate": 0.1}).must(t, 200)

	const plat = "/api/v1/privilege"
	huge := `{"description":"` + strings.Repeat("a", 2<<20) + `"}`
	many := make([]any, 101)
	for i := range many {
		many[i] = map[string]any{"subject": "s", "action": "read", "resource": "orders/1"}
	}
	sims := make([]any, 1001)
	for i := range sims {
		sims[i] = map[string]any{"subject": "s", "action": "read", "resource": "orders/1"}
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, mention      string
	}{
		// Roles.
		{"malformed JSON", "PUT", acme + "/roles/x", `{"permissions":`, 400, "invalid", "malformed JSON"},
		{"trailing data", "PUT", acme + "/roles/x", `{} {}`, 400, "invalid", "unexpected data"},
		{"an empty body", "PUT", acme + "/roles/x", ``, 400, "invalid", "empty"},
		{"an unknown field", "PUT", acme + "/roles/x", `{"colour":"red"}`, 400, "invalid", "colour"},
		{"a wrong type", "PUT", acme + "/roles/x", `{"permissions":"all"}`, 400, "invalid", "permissions"},
		{"an oversized body", "PUT", acme + "/roles/x", huge, 413, "too_large", "larger than"},
		{"an invalid role name", "PUT", acme + "/roles/Bad%20Name", `{}`, 400, "invalid", "name"},
		{"a body name that contradicts the path", "PUT", acme + "/roles/x", `{"name":"y"}`, 400, "invalid", "must equal"},
		{"a bad permission pattern", "PUT", acme + "/roles/x", `{"permissions":[{"resource":"orders/**","action":"read"}]}`, 422, "unprocessable", "permissions[0].resource"},
		{"a bad effect", "PUT", acme + "/roles/x", `{"permissions":[{"resource":"orders/*","action":"read","effect":"maybe"}]}`, 422, "unprocessable", "permissions[0].effect"},
		{"inheriting an unknown role", "PUT", acme + "/roles/x", `{"inherits":["nobody"]}`, 422, "unprocessable", "nobody"},
		{"an inheritance cycle", "PUT", acme + "/roles/acme-clerk", `{"inherits":["acme-clerk"]}`, 422, "unprocessable", "acme-clerk"},
		{"a role of another tenant", "PUT", acme + "/roles/x", `{"tenant":"globex"}`, 422, "unprocessable", "globex"},
		{"a platform role in a tenant", "PUT", acme + "/roles/x", `{"platform":true}`, 422, "unprocessable", "platform"},
		{"a tenant role on the platform", "PUT", plat + "/roles/x", `{"tenant":"acme"}`, 422, "unprocessable", "tenant"},
		{"a platform role inheriting a tenant role", "PUT", plat + "/roles/x", `{"inherits":["reader"]}`, 422, "unprocessable", "reader"},
		{"deleting a missing role", "DELETE", acme + "/roles/ghost", nil, 404, "not_found", "ghost"},
		{"deleting a role still assigned", "DELETE", acme + "/roles/reader", nil, 422, "unprocessable", "reader"},
		// Members.
		{"a member with a control character", "PUT", acme + "/roles/reader/members/a%01b", nil, 400, "invalid", "subject"},
		{"a member of an unknown role", "PUT", acme + "/roles/ghost/members/u-x", nil, 422, "unprocessable", "ghost"},
		{"a member expiring in the past", "PUT", acme + "/roles/reader/members/u-x", `{"expires_at":"` + past + `"}`, 422, "unprocessable", "expires_at"},
		{"a member expiring at no time", "PUT", acme + "/roles/reader/members/u-x", `{"expires_at":"soon"}`, 400, "invalid", "expires_at"},
		{"a member with an unknown field", "PUT", acme + "/roles/reader/members/u-x", `{"until":"2030-01-01T00:00:00Z"}`, 400, "invalid", "until"},
		{"removing a missing member", "DELETE", acme + "/roles/reader/members/u-nobody", nil, 404, "not_found", "u-nobody"},
		// Policies.
		{"an invalid policy id", "PUT", acme + "/policies/-x", `{}`, 400, "invalid", "id"},
		{"a policy with a misspelt field", "PUT", acme + "/policies/p", `{"target":{"resources":["*"],"actions":["read"]},"rules":[{"id":"r","effect":"permit","condtion":{}}]}`, 400, "invalid", "condtion"},
		{"a policy with an unknown operator", "PUT", acme + "/policies/p", `{"target":{"resources":["*"],"actions":["read"]},"rules":[{"id":"odd","effect":"permit","condition":{"attr":"resource.owner","op":"resembles","value":"x"}}]}`, 422, "unprocessable", "odd"},
		{"a policy without rules", "PUT", acme + "/policies/p", `{"target":{"resources":["*"],"actions":["read"]}}`, 422, "unprocessable", "rules"},
		{"a policy of another tenant", "PUT", acme + "/policies/p", `{"tenant":"globex","target":{"resources":["*"],"actions":["read"]},"rules":[{"id":"r","effect":"permit"}]}`, 422, "unprocessable", "globex"},
		{"a body id that contradicts the path", "PUT", acme + "/policies/p", `{"id":"q"}`, 400, "invalid", "must equal"},
		{"deleting a missing policy", "DELETE", acme + "/policies/ghost", nil, 404, "not_found", "ghost"},
		// Settings.
		{"an unknown algorithm", "PUT", acme + "/settings", `{"algorithm":"coin-toss"}`, 422, "unprocessable", "algorithm"},
		{"a sample rate above 1", "PUT", acme + "/settings", `{"audit_sample_rate":2}`, 422, "unprocessable", "audit_sample_rate"},
		{"an unknown attribute type", "PUT", acme + "/settings", `{"schema":{"subject.x":"colour"}}`, 422, "unprocessable", "subject.x"},
		{"settings with an unknown field", "PUT", acme + "/settings", `{"fail_closed":true}`, 400, "invalid", "fail_closed"},
		{"settings that strand a policy", "PUT", acme + "/settings", `{"schema":{}}`, 422, "unprocessable", "resource.owner"},
		// Rollback.
		{"a rollback of a non-number", "POST", acme + "/revisions/abc/rollback", nil, 400, "invalid", "version"},
		{"a rollback of a missing revision", "POST", acme + "/revisions/999/rollback", nil, 404, "not_found", "999"},
		{"a rollback of records changed since", "POST", acme + "/revisions/1/rollback", nil, 409, "conflict", "settings"},
		{"a platform rollback of a missing revision", "POST", plat + "/revisions/999/rollback", nil, 404, "not_found", "999"},
		// Simulation.
		{"a draft with an unknown field", "POST", acme + "/simulate", `{"draft":{"users":[]}}`, 400, "invalid", "users"},
		{"too many simulated requests", "POST", acme + "/simulate", map[string]any{"draft": map[string]any{}, "requests": sims}, 422, "unprocessable", "requests"},
		{"a simulated request without an action", "POST", acme + "/simulate", `{"draft":{},"requests":[{"subject":"s","resource":"r"}]}`, 422, "unprocessable", "requests[0].action"},
		{"a replay of too many decisions", "POST", acme + "/simulate", `{"draft":{},"replay":{"limit":5000}}`, 422, "unprocessable", "replay.limit"},
		// Checks.
		{"a check without an action", "POST", acme + "/check", `{"subject":"s","resource":"r"}`, 422, "unprocessable", "action"},
		{"a check with a malformed token", "POST", acme + "/check", `{"subject":"s","action":"read","resource":"r","revision":"v7"}`, 422, "unprocessable", "revision"},
		{"a check with a subject too long", "POST", acme + "/check", fmt.Sprintf(`{"subject":%q,"action":"read","resource":"r"}`, strings.Repeat("s", 300)), 422, "unprocessable", "subject"},
		{"a batch too big", "POST", acme + "/check-batch", map[string]any{"checks": many}, 422, "unprocessable", "checks"},
		{"an empty batch", "POST", acme + "/check-batch", `{"checks":[]}`, 422, "unprocessable", "checks"},
		{"a batch item without a resource", "POST", acme + "/check-batch", `{"checks":[{"subject":"s","action":"read","resource":"r"},{"subject":"s","action":"read"}]}`, 422, "unprocessable", "checks[1].resource"},
		// Queries.
		{"a limit of 0", "GET", acme + "/roles?limit=0", nil, 400, "invalid", "limit"},
		{"allowed=maybe", "GET", acme + "/decisions?allowed=maybe", nil, 400, "invalid", "allowed"},
		{"since=yesterday", "GET", acme + "/decisions?since=yesterday", nil, 400, "invalid", "since"},
		{"a malformed decision cursor", "GET", acme + "/decisions?before=xyz", nil, 422, "unprocessable", "before"},
		{"an invalid tenant", "GET", "/api/v1/tenants/Bad%20Tenant/privilege/roles", nil, 400, "invalid", "tenant"},
		{"an unknown tenant", "GET", "/api/v1/tenants/initech/privilege/roles", nil, 404, "not_found", "initech"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acmeV, platformV := f.version(t, "acme"), f.version(t, "")
			r := f.do(t, "platform", tt.method, tt.path, tt.body)
			if r.status != tt.status || r.errCode() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %.400s", r.status, r.errCode(), tt.status, tt.code, r.raw)
			}
			if !strings.Contains(r.raw, tt.mention) {
				t.Errorf("the error does not mention %q: %.400s", tt.mention, r.raw)
			}
			if f.version(t, "acme") != acmeV || f.version(t, "") != platformV {
				t.Errorf("refused, but a version moved")
			}
		})
	}
	t.Run("the header and the body name different revisions", func(t *testing.T) {
		r := f.do(t, "acme-client", "POST", acme+"/check", `{"subject":"s","action":"read","resource":"r","revision":"pv1.1.1.acme"}`, "X-Privilege-Revision", "pv1.2.1.acme")
		if r.status != 400 || !strings.Contains(r.raw, "differ") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}
