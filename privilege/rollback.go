package privilege

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// RollbackChanges returns the changes that undo rev, last change first:
// each change's Before becomes the After (a delete when Before was nil)
// and its After the Before. Settings cannot be deleted, and a tenant
// without settings evaluates with DefaultSettings: settings that rev
// created roll back to DefaultSettings(rev.Tenant).
func RollbackChanges(rev PolicyRevision) []Change {
	out := make([]Change, 0, len(rev.Changes))
	for _, c := range slices.Backward(rev.Changes) {
		undo := Change{Kind: c.Kind, Key: c.Key, Before: c.After, After: c.Before}
		if absent(undo.Before) {
			undo.Before = nil
		}
		if absent(undo.After) {
			undo.After = nil
			if c.Kind == KindSettings {
				undo.After = defaultSettingsDoc(rev.Tenant)
			}
		}
		out = append(out, undo)
	}
	return out
}

// CheckRollback reports whether rev can be undone on top of current, the
// tenant's policy set now: every record rev touched must still be as rev
// left it. Records are compared as domain values, not bytes, so a record
// stored again unchanged (or re-encoded) still matches; absent settings
// are DefaultSettings. A record changed, deleted or re-created since is an
// apperr.Conflict naming each such record ("role admin", "assignment
// reader:bob", "settings") in its message and details. A change that does
// not decode is Invalid, and a revision of another tenant Unprocessable.
func CheckRollback(current Snapshot, rev PolicyRevision) error {
	if rev.Tenant != current.Tenant {
		return apperr.Fields("cannot roll back revision", map[string]string{
			"tenant": fmt.Sprintf("revision %d is tenant %q's, but the policy set is tenant %q's", rev.Version, rev.Tenant, current.Tenant),
		})
	}
	now := snapshotDocs(current)
	details := map[string]string{}
	var names []string
	for _, c := range rev.Changes {
		if _, err := canonicalDoc(c.Kind, c.Key, c.Before, rev.Tenant); err != nil {
			return err
		}
		want, err := canonicalDoc(c.Kind, c.Key, c.After, rev.Tenant)
		if err != nil {
			return err
		}
		got := now[recordID(c.Kind, c.Key)]
		var what string
		switch {
		case bytes.Equal(got, want):
			continue
		case got == nil:
			what = "deleted"
		case want == nil:
			what = "re-created"
		default:
			what = "changed"
		}
		name := string(c.Kind) + " " + c.Key
		if c.Kind == KindSettings {
			name = string(c.Kind)
		}
		details[name] = fmt.Sprintf("%s since revision %d", what, rev.Version)
		names = append(names, name+" ("+what+")")
	}
	if len(names) == 0 {
		return nil
	}
	return &apperr.Error{
		Code: apperr.Conflict,
		Message: fmt.Sprintf("cannot roll back revision %d of tenant %q: records changed since: %s",
			rev.Version, rev.Tenant, strings.Join(names, ", ")),
		Details: details,
	}
}

// ApplyChange applies one change inside tx: it decodes After into the
// kind's domain value (Role, Assignment, Policy, Settings) and puts it, or
// deletes the record when After is nil (an assignment's key is
// AssignmentKey(subject, role)). The platform has no settings to delete
// and a tenant's cannot be: a settings change with a nil After puts
// DefaultSettings(tx.Tenant()). A malformed change — unknown kind, JSON
// that does not decode strictly into the domain value, a key that does not
// name the decoded record — is an Invalid or Unprocessable error; the
// Tx's own errors are returned as they are.
func ApplyChange(ctx context.Context, tx Tx, c Change) error {
	del := absent(c.After)
	switch c.Kind {
	case KindRole:
		if del {
			return tx.DeleteRole(ctx, c.Key)
		}
		r, err := decodeDoc[Role](c.Kind, c.Key, c.After)
		if err != nil {
			return err
		}
		if err := keyMatches(c, r.Name); err != nil {
			return err
		}
		return tx.PutRole(ctx, r)
	case KindAssignment:
		if del {
			role, subject, ok := strings.Cut(c.Key, ":")
			if !ok {
				return invalidChange(c, "key", `must be "role:subject"`)
			}
			return tx.DeleteAssignment(ctx, subject, role)
		}
		a, err := decodeDoc[Assignment](c.Kind, c.Key, c.After)
		if err != nil {
			return err
		}
		if err := keyMatches(c, AssignmentKey(a.Subject, a.Role)); err != nil {
			return err
		}
		return tx.PutAssignment(ctx, a)
	case KindPolicy:
		if del {
			return tx.DeletePolicy(ctx, c.Key)
		}
		p, err := decodeDoc[Policy](c.Kind, c.Key, c.After)
		if err != nil {
			return err
		}
		if err := keyMatches(c, p.ID); err != nil {
			return err
		}
		return tx.PutPolicy(ctx, p)
	case KindSettings:
		if err := keyMatches(c, settingsKey); err != nil {
			return err
		}
		s := DefaultSettings(tx.Tenant())
		if !del {
			var err error
			if s, err = decodeDoc[Settings](c.Kind, c.Key, c.After); err != nil {
				return err
			}
		}
		return tx.PutSettings(ctx, s)
	}
	return unknownKind(c)
}

// Rollback undoes rev inside tx, which must be of rev's tenant: it checks
// the rollback against the policy set as tx sees it (CheckRollback),
// applies RollbackChanges, describes the revision as rolling rev back, and
// compiles the result, because undoing one revision can break a record a
// later one added (an assignment of a role rev created). Any error leaves
// the caller to roll the transaction back by returning it from InTx.
func Rollback(ctx context.Context, tx Tx, rev PolicyRevision, actor string) error {
	snap, err := tx.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read policy set to roll back revision %d: %w", rev.Version, err)
	}
	if err := CheckRollback(snap, rev); err != nil {
		return err
	}
	for _, c := range RollbackChanges(rev) {
		if err := ApplyChange(ctx, tx, c); err != nil {
			return fmt.Errorf("roll back revision %d: %w", rev.Version, err)
		}
	}
	tx.Describe(actor, fmt.Sprintf("roll back revision %d", rev.Version))
	if snap, err = tx.Snapshot(ctx); err != nil {
		return fmt.Errorf("read policy set after rolling back revision %d: %w", rev.Version, err)
	}
	if _, err := CompileSnapshot(snap); err != nil {
		return fmt.Errorf("roll back revision %d: %w", rev.Version, err)
	}
	return nil
}

// settingsKey is the Change key of a tenant's settings.
const settingsKey = "settings"

// absent reports whether a change side means "no record": nil, empty or
// JSON null.
func absent(doc json.RawMessage) bool {
	d := bytes.TrimSpace(doc)
	return len(d) == 0 || bytes.Equal(d, []byte("null"))
}

func defaultSettingsDoc(tenant string) json.RawMessage {
	b, _ := json.Marshal(DefaultSettings(tenant)) // cannot fail: no NaN, no unsupported types
	return b
}

// decodeDoc decodes one change side strictly, like ParsePolicy: unknown
// fields and trailing data are Invalid, so a misspelt field cannot
// silently drop part of a record.
func decodeDoc[T any](kind ChangeKind, key string, doc json.RawMessage) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, apperr.Wrap(apperr.Invalid, err, fmt.Sprintf("decode %s %q of a change", kind, key))
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, apperr.New(apperr.Invalid, "decode %s %q of a change: trailing data after the document", kind, key)
	}
	// A record that cannot be encoded again (a time that leaves the
	// years 0-9999 in UTC) could be neither stored nor compared.
	if _, err := canonical(v, ""); err != nil {
		return v, apperr.Wrap(apperr.Invalid, err, fmt.Sprintf("decode %s %q of a change", kind, key))
	}
	return v, nil
}

func keyMatches(c Change, want string) error {
	if c.Key != want {
		return invalidChange(c, "key", fmt.Sprintf("must be %q, the key of the record in the change", want))
	}
	return nil
}

func invalidChange(c Change, field, msg string) error {
	return apperr.Fields(fmt.Sprintf("invalid change of %s %q", c.Kind, c.Key), map[string]string{field: msg})
}

func unknownKind(c Change) error {
	return invalidChange(c, "kind", fmt.Sprintf("is %q; must be %s, %s, %s or %s", c.Kind, KindRole, KindAssignment, KindPolicy, KindSettings))
}

func recordID(kind ChangeKind, key string) string { return string(kind) + "\x00" + key }

// canonicalDoc decodes a change side and encodes it again in canonical
// form (see canonical); nil when the record is absent, except settings,
// which are then DefaultSettings.
func canonicalDoc(kind ChangeKind, key string, doc json.RawMessage, tenant string) ([]byte, error) {
	if !slices.Contains([]ChangeKind{KindRole, KindAssignment, KindPolicy, KindSettings}, kind) {
		return nil, unknownKind(Change{Kind: kind, Key: key})
	}
	if absent(doc) && kind == KindSettings {
		doc = defaultSettingsDoc(tenant)
	}
	if absent(doc) {
		return nil, nil
	}
	var v any
	var err error
	switch kind {
	case KindRole:
		v, err = decodeDoc[Role](kind, key, doc)
	case KindAssignment:
		v, err = decodeDoc[Assignment](kind, key, doc)
	case KindPolicy:
		v, err = decodeDoc[Policy](kind, key, doc)
	case KindSettings:
		v, err = decodeDoc[Settings](kind, key, doc)
	}
	if err != nil {
		return nil, err
	}
	return canonical(v, tenant)
}

// snapshotDocs returns the canonical form of every record of s's tenant
// (not the platform's, unless s is the platform's) by recordID.
func snapshotDocs(s Snapshot) map[string][]byte {
	docs := map[string][]byte{}
	add := func(kind ChangeKind, key string, v any) {
		if b, err := canonical(v, s.Tenant); err == nil {
			docs[recordID(kind, key)] = b
		}
	}
	for _, r := range s.Roles {
		if r.Tenant == s.Tenant {
			add(KindRole, r.Name, r)
		}
	}
	for _, a := range s.Assignments {
		if a.Tenant == s.Tenant {
			add(KindAssignment, AssignmentKey(a.Subject, a.Role), a)
		}
	}
	for _, p := range s.Policies {
		if p.Tenant == "" || p.Tenant == s.Tenant {
			add(KindPolicy, p.ID, p)
		}
	}
	if s.Tenant != "" {
		st := s.Settings
		if st.Tenant == "" {
			st = DefaultSettings(s.Tenant)
		}
		add(KindSettings, settingsKey, st)
	}
	return docs
}

// canonical encodes a record of tenant so that two values mean the same
// record exactly when their encodings are equal: defaults are spelled out
// (a permission's and the settings' empty effect and algorithm, a
// policy's and the settings' empty tenant), empty lists are nil, times
// are UTC, and map keys and condition literals are encoded by one
// encoder.
func canonical(v any, tenant string) ([]byte, error) {
	switch r := v.(type) {
	case Role:
		perms := slices.Clone(r.Permissions)
		for i := range perms {
			if perms[i].Effect == "" {
				perms[i].Effect = Permit
			}
		}
		r.Permissions = perms
		v = r
	case Assignment:
		r.ExpiresAt = r.ExpiresAt.UTC()
		v = r
	case Policy:
		if r.Tenant == "" {
			r.Tenant = tenant
		}
		if len(r.Rules) == 0 {
			r.Rules = nil
		}
		if len(r.Target.Resources) == 0 {
			r.Target.Resources = nil
		}
		if len(r.Target.Actions) == 0 {
			r.Target.Actions = nil
		}
		v = r
	case Settings:
		if r.Tenant == "" {
			r.Tenant = tenant
		}
		if r.Algorithm == "" {
			r.Algorithm = DenyOverrides
		}
		if len(r.Schema) == 0 {
			r.Schema = nil
		}
		v = r
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "encode record to compare")
	}
	return b, nil
}
