package privilege

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// DecisionRecord is one audited authorization decision: the question, the
// answer with its reason and deciding vote, and enough of the request to
// replay it in the simulator. Records are written asynchronously and
// never changed; retention prunes them by age.
type DecisionRecord struct {
	// ID is NewDecisionID(At): unique, and sorted by time in any
	// collation, so it is also the paging cursor.
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	Tenant        string    `json:"tenant"`
	Subject       string    `json:"subject"`
	Action        string    `json:"action"`
	Resource      string    `json:"resource"`
	Allowed       bool      `json:"allowed"`
	FailOpen      bool      `json:"fail_open,omitempty"` // allowed only because the tenant opted in to fail open
	Reason        string    `json:"reason"`
	Tier          string    `json:"tier"`
	PolicyVersion int64     `json:"policy_version"`
	Deciding      *Vote     `json:"deciding,omitempty"`
	Caller        string    `json:"caller,omitempty"` // who asked (the principal's actor), not the subject
	// Attributes are the request's subject, resource and env attributes, so
	// the simulator can replay the decision.
	SubjectAttributes  map[string]any `json:"subject_attributes,omitempty"`
	ResourceAttributes map[string]any `json:"resource_attributes,omitempty"`
	Env                map[string]any `json:"env,omitempty"`
}

// NewDecisionRecord records the answer d to req given at at, with a new
// ID. The attribute maps are copied (their values are shared), so the
// caller may reuse its maps once the record is queued. FailOpen and Caller
// are the caller's to set.
func NewDecisionRecord(req Request, d Decision, at time.Time) DecisionRecord {
	var deciding *Vote
	if d.Deciding != nil {
		v := *d.Deciding
		deciding = &v
	}
	return DecisionRecord{
		ID:                 NewDecisionID(at),
		At:                 at.UTC(),
		Tenant:             req.Tenant,
		Subject:            req.Subject.ID,
		Action:             req.Action,
		Resource:           req.Resource.Name,
		Allowed:            d.Allowed,
		Reason:             d.Reason,
		Tier:               d.Tier,
		PolicyVersion:      d.PolicyVersion,
		Deciding:           deciding,
		SubjectAttributes:  maps.Clone(req.Subject.Attributes),
		ResourceAttributes: maps.Clone(req.Resource.Attributes),
		Env:                maps.Clone(req.Env),
	}
}

// Request rebuilds the audited request, for replay by the simulator at the
// record's time At (env.time, when the request did not carry it, was the
// check's time). The attribute maps are copies.
func (d DecisionRecord) Request() Request {
	return Request{
		Tenant:   d.Tenant,
		Subject:  Subject{ID: d.Subject, Attributes: maps.Clone(d.SubjectAttributes)},
		Action:   d.Action,
		Resource: Resource{Name: d.Resource, Attributes: maps.Clone(d.ResourceAttributes)},
		Env:      maps.Clone(d.Env),
	}
}

// decisionIDLen is the length of a decision id: 19 digits and 16 hex
// digits.
const decisionIDLen = 19 + 16

// NewDecisionID returns a new id for a decision made at at: 19 zero-padded
// digits of Unix nanoseconds (0 before 1970) and 16 random hex digits, the
// scheme of the login audit trail. Fixed width and only digits and
// lower-case letters, it sorts by time under any collation, so "newest
// first" and paging are one index range; the random part keeps replicas
// deciding in the same nanosecond apart.
func NewDecisionID(at time.Time) string {
	n := max(at.UnixNano(), 0)
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program rather than return an error
	return fmt.Sprintf("%019d%s", n, hex.EncodeToString(b[:]))
}

// ValidDecisionID reports whether s has the form of NewDecisionID's ids.
func ValidDecisionID(s string) bool {
	if len(s) != decisionIDLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		digit, hexLetter := c >= '0' && c <= '9', c >= 'a' && c <= 'f'
		if !digit && (i < 19 || !hexLetter) {
			return false
		}
	}
	return true
}

// Validate checks a record before it is stored: a tenant name and, when
// set, an id of NewDecisionID's form (stores assign one otherwise).
func (d DecisionRecord) Validate() error {
	p := map[string]string{}
	if !ValidRoleName(d.Tenant) {
		p["tenant"] = "must be a tenant name, which " + rbacNameRule
	}
	if d.ID != "" && !ValidDecisionID(d.ID) {
		p["id"] = decisionIDRule
	}
	return apperr.Fields("invalid decision record", p)
}

// decisionIDRule describes a decision id in validation details.
const decisionIDRule = "must be a decision id: 19 digits then 16 lower-case hex digits"

// Page sizes of DecisionQuery.
const (
	DefaultDecisionLimit = 100
	MaxDecisionLimit     = 1000
)

// DecisionQuery filters the audit of one tenant, newest first.
type DecisionQuery struct {
	Tenant string // required
	// Subject, Resource and Action select exact matches when set.
	Subject, Resource, Action string
	// Allowed selects allowed (true) or denied (false) decisions when set.
	Allowed *bool
	// Since and Until bound At when set: At >= Since, At < Until.
	Since, Until time.Time
	// Before is the paging cursor: only records whose ID is strictly
	// before it, in practice the last ID of the previous page.
	Before string
	// Limit is the page size, 1 to MaxDecisionLimit; 0 means
	// DefaultDecisionLimit.
	Limit int
}

// Validate checks the query, with a detail per bad field.
func (q DecisionQuery) Validate() error {
	p := map[string]string{}
	if !ValidRoleName(q.Tenant) {
		p["tenant"] = "must be a tenant name, which " + rbacNameRule
	}
	if q.Limit < 0 || q.Limit > MaxDecisionLimit {
		p["limit"] = fmt.Sprintf("must be between 1 and %d, or 0 for %d", MaxDecisionLimit, DefaultDecisionLimit)
	}
	if q.Before != "" && !ValidDecisionID(q.Before) {
		p["before"] = decisionIDRule
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		p["until"] = "must be after since"
	}
	return apperr.Fields("invalid decision query", p)
}

// PageSize is the most records the query returns: Limit, or
// DefaultDecisionLimit when it is 0.
func (q DecisionQuery) PageSize() int {
	if q.Limit == 0 {
		return DefaultDecisionLimit
	}
	return q.Limit
}

// DecisionStore keeps the decision audit. Stores compare times at the
// microsecond, the precision they keep.
type DecisionStore interface {
	// AddDecisions stores records in one transaction, all or none, after
	// validating each (apperr.Unprocessable). A record without an ID gets
	// NewDecisionID(At), one without At the current time. A record whose
	// tenant and ID are already stored is skipped, so a batch retried
	// after a write that failed only in reporting is not stored twice.
	AddDecisions(ctx context.Context, ds []DecisionRecord) error
	// ListDecisions returns the records q selects, newest (highest ID)
	// first, never another tenant's; an invalid q fails with
	// apperr.Unprocessable.
	ListDecisions(ctx context.Context, q DecisionQuery) ([]DecisionRecord, error)
	// PruneDecisions deletes records older than before (At < before) of
	// every tenant, and returns how many.
	PruneDecisions(ctx context.Context, before time.Time) (int64, error)
}
