package httpapi_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/privilege/httpapi"
)

const acme = "/api/v1/tenants/acme/privilege"

// TestRolesAndMembersWithHistory walks a role's life in a tenant: created,
// assigned, listed, unassigned, its history read and a revision rolled
// back, every write answering the stored record, the new version and a
// revision token.
func TestRolesAndMembersWithHistory(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	v0 := f.version(t, "acme")

	put := f.do(t, "acme-admin", "PUT", acme+"/roles/writer", map[string]any{
		"description": "writes orders", "inherits": []string{"reader"},
		"permissions": []any{map[string]any{"resource": "orders/*", "action": "write"}},
	}).must(t, 200)
	if put.str("role", "tenant") != "acme" || put.str("role", "name") != "writer" || put.at("version") != float64(v0+1) {
		t.Fatalf("put role answered %s", put.raw)
	}
	tok := put.str("revision")
	if tok == "" || put.header.Get(httpapi.RevisionHeader) != tok {
		t.Fatalf("revision %q, header %q", tok, put.header.Get(httpapi.RevisionHeader))
	}

	t.Run("a put that changes nothing keeps the version", func(t *testing.T) {
		again := f.do(t, "acme-admin", "PUT", acme+"/roles/writer", put.at("role")).must(t, 200)
		if again.at("version") != put.at("version") {
			t.Fatalf("version moved: %s", again.raw)
		}
	})

	get := f.do(t, "acme-ops", "GET", acme+"/roles/writer", nil).must(t, 200)
	if get.str("role", "description") != "writes orders" {
		t.Fatalf("get role %s", get.raw)
	}
	list := f.do(t, "acme-admin", "GET", acme+"/roles", nil).must(t, 200)
	var names []string
	for _, it := range list.items() {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if fmt.Sprint(names) != "[acme-clerk operator reader writer]" {
		t.Fatalf("roles %v (platform roles are listed with the tenant's)", names)
	}
	paged := f.do(t, "acme-admin", "GET", acme+"/roles?limit=2", nil).must(t, 200)
	if len(paged.items()) != 2 || paged.str("next") != "operator" {
		t.Fatalf("first page %s", paged.raw)
	}
	if rest := f.do(t, "acme-admin", "GET", acme+"/roles?limit=2&after=operator", nil).must(t, 200); len(rest.items()) != 2 || rest.str("items", 0, "name") != "reader" {
		t.Fatalf("second page %s", rest.raw)
	}

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	m := f.do(t, "acme-admin", "PUT", acme+"/roles/writer/members/u-carol", map[string]any{"expires_at": until}).must(t, 200)
	if m.str("assignment", "subject") != "u-carol" || m.str("assignment", "role") != "writer" || m.str("assignment", "expires_at") != until.Format(time.RFC3339) {
		t.Fatalf("put member %s", m.raw)
	}
	f.do(t, "acme-admin", "PUT", acme+"/roles/writer/members/u-dave", nil).must(t, 200)
	members := f.do(t, "acme-admin", "GET", acme+"/roles/writer/members", nil).must(t, 200)
	if len(members.items()) != 2 || members.str("items", 0, "subject") != "u-carol" || members.str("items", 1, "subject") != "u-dave" {
		t.Fatalf("members %s", members.raw)
	}
	mine := f.do(t, "acme-admin", "GET", acme+"/assignments?subject=u-carol", nil).must(t, 200)
	if len(mine.items()) != 1 || mine.str("items", 0, "role") != "writer" {
		t.Fatalf("assignments of u-carol %s", mine.raw)
	}

	perms := f.do(t, "acme-admin", "GET", acme+"/subjects/u-carol/permissions", nil, httpapi.RevisionHeader, m.str("revision")).must(t, 200)
	if fmt.Sprint(perms.at("roles")) != "[reader writer]" || len(perms.at("permissions").([]any)) != 2 {
		t.Fatalf("permissions of u-carol %s", perms.raw)
	}

	t.Run("a role still assigned cannot be deleted", func(t *testing.T) {
		before := f.version(t, "acme")
		r := f.do(t, "acme-admin", "DELETE", acme+"/roles/writer", nil).must(t, 422)
		if r.errCode() != "unprocessable" || f.version(t, "acme") != before {
			t.Fatalf("%s", r.raw)
		}
	})

	del := f.do(t, "acme-admin", "DELETE", acme+"/roles/writer/members/u-dave", nil).must(t, 200)
	if del.at("deleted") != true || del.str("assignment", "subject") != "u-dave" {
		t.Fatalf("delete member %s", del.raw)
	}
	f.do(t, "acme-admin", "DELETE", acme+"/roles/writer/members/u-dave", nil).must(t, 404)

	revs := f.do(t, "acme-admin", "GET", acme+"/revisions?limit=2", nil).must(t, 200)
	newest := revs.at("items", 0, "version").(float64)
	if newest != del.at("version") || revs.str("items", 0, "actor") != "user:acme/alice" || revs.str("next") == "" {
		t.Fatalf("revisions %s", revs.raw)
	}
	older := f.do(t, "acme-admin", "GET", acme+"/revisions?before="+revs.str("next"), nil).must(t, 200)
	if older.at("items", 0, "version").(float64) != newest-2 {
		t.Fatalf("older revisions %s", older.raw)
	}
	one := f.do(t, "acme-admin", "GET", fmt.Sprintf("%s/revisions/%d", acme, int64(newest)), nil).must(t, 200)
	if one.str("changes", 0, "kind") != "assignment" || one.str("changes", 0, "key") != "writer:u-dave" {
		t.Fatalf("revision %s", one.raw)
	}

	rb := f.do(t, "acme-admin", "POST", fmt.Sprintf("%s/revisions/%d/rollback", acme, int64(newest)), nil).must(t, 200)
	if rb.str("policy_revision", "summary") != "roll back revision "+strconv.Itoa(int(newest)) || rb.at("version") != newest+1 {
		t.Fatalf("rollback %s", rb.raw)
	}
	if r := f.do(t, "acme-admin", "GET", acme+"/roles/writer/members", nil).must(t, 200); len(r.items()) != 2 {
		t.Fatalf("members after the rollback %s", r.raw)
	}
	t.Run("a revision whose records changed since cannot be rolled back", func(t *testing.T) {
		before := f.version(t, "acme")
		r := f.do(t, "acme-admin", "POST", fmt.Sprintf("%s/revisions/%d/rollback", acme, int64(newest)), nil).must(t, 409)
		if f.version(t, "acme") != before {
			t.Fatalf("%s", r.raw)
		}
	})
}

// TestPlatformRolesAndMembers manages platform roles and platform-wide
// assignments, which every tenant's checks honour.
func TestPlatformRolesAndMembers(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	const p = "/api/v1/privilege"
	r := f.do(t, "platform", "PUT", p+"/roles/auditor", map[string]any{
		"permissions": []any{map[string]any{"resource": "orders/*", "action": "read"}},
	}).must(t, 200)
	if r.at("role", "platform") != true || r.str("role", "tenant") != "" {
		t.Fatalf("platform role %s", r.raw)
	}
	m := f.do(t, "bootstrap", "PUT", p+"/roles/auditor/members/aud-1", nil).must(t, 200)
	tok := m.str("revision")
	d := f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "aud-1", "action": "read", "resource": "orders/9", "revision": tok}).must(t, 200)
	if d.at("allowed") != true {
		t.Fatalf("a platform-wide assignment in acme: %s", d.raw)
	}
	if l := f.do(t, "platform", "GET", p+"/roles/auditor/members", nil).must(t, 200); len(l.items()) != 1 || l.str("items", 0, "tenant") != "" {
		t.Fatalf("platform members %s", l.raw)
	}
	if l := f.do(t, "acme-admin", "GET", acme+"/roles/auditor/members", nil).must(t, 200); len(l.items()) != 0 {
		t.Fatalf("platform-wide members are the platform's, not listed in a tenant: %s", l.raw)
	}
	if l := f.do(t, "platform", "GET", p+"/revisions", nil).must(t, 200); len(l.items()) != 3 {
		t.Fatalf("platform revisions %s", l.raw)
	}
	t.Run("a tenant cannot change a platform role", func(t *testing.T) {
		before := f.version(t, "acme")
		if r := f.do(t, "acme-admin", "PUT", acme+"/roles/auditor", map[string]any{}); r.status != 409 {
			t.Fatalf("shadowing a platform role: %d %s", r.status, r.raw)
		}
		f.do(t, "acme-admin", "DELETE", acme+"/roles/auditor", nil).must(t, 404)
		if f.version(t, "acme") != before {
			t.Fatal("version moved")
		}
	})
	del := f.do(t, "platform", "DELETE", p+"/roles/auditor/members/aud-1", nil).must(t, 200)
	d = f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "aud-1", "action": "read", "resource": "orders/9"},
		httpapi.RevisionHeader, del.str("revision")).must(t, 200)
	if d.at("allowed") != false {
		t.Fatalf("after the platform-wide assignment was removed: %s", d.raw)
	}
}
