package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// Limits of a simulation.
const (
	maxSimRequests     = 1000
	maxReplay          = privilege.MaxDecisionLimit
	defaultReplayLimit = privilege.DefaultDecisionLimit
)

type simulateRequest struct {
	// Draft replaces parts of the tenant's policy set (see privilege.Draft).
	Draft privilege.Draft `json:"draft"`
	// Requests are evaluated now under the current set and the draft.
	Requests []privilege.SimRequest `json:"requests,omitempty"`
	// Replay evaluates recent audited decisions too.
	Replay *replayRequest `json:"replay,omitempty"`
}

// replayRequest selects audited decisions to replay: the newest, at most
// Limit (default 100, at most 1000), none older than Since.
type replayRequest struct {
	Since time.Time `json:"since,omitzero"`
	Limit int       `json:"limit,omitempty"`
}

func (r simulateRequest) Valid() map[string]string {
	p := map[string]string{}
	if len(r.Requests) > maxSimRequests {
		p["requests"] = fmt.Sprintf("must hold at most %d requests", maxSimRequests)
	}
	for i, q := range r.Requests {
		checkItem{Subject: q.Subject, Action: q.Action, Resource: q.Resource}.valid(p, fmt.Sprintf("requests[%d].", i))
		if q.Subject == "" {
			p[fmt.Sprintf("requests[%d].subject", i)] = "is required"
		}
	}
	if r.Replay != nil && (r.Replay.Limit < 0 || r.Replay.Limit > maxReplay) {
		p["replay.limit"] = fmt.Sprintf("must be between 1 and %d, or omitted for %d", maxReplay, defaultReplayLimit)
	}
	return p
}

// simulateView is the report with the version it was made against and
// how many of its results are replayed decisions (those come last,
// newest first).
type simulateView struct {
	privilege.SimReport
	PolicyVersion   int64 `json:"policy_version"`
	PlatformVersion int64 `json:"platform_version"`
	Replayed        int   `json:"replayed"`
}

// simulate compiles the draft over the tenant's current policy set — a
// draft that would not compile is a 422 naming every problem, exactly as
// publishing it would be — and reports, request by request, what it
// would change. Nothing is stored.
func (a *API) simulate(c *gin.Context) {
	var in simulateRequest
	if err := decode(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	tenant := scope(c)
	snap, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	current, err := privilege.CompileSnapshot(snap)
	if err != nil {
		a.fail(c, apperr.Wrap(apperr.Conflict, err, "the tenant's stored policy set does not compile"))
		return
	}
	draft, err := in.Draft.Compile(snap)
	if err != nil {
		a.fail(c, err)
		return
	}
	now := a.now()
	reqs := make([]privilege.Request, len(in.Requests))
	for i, q := range in.Requests {
		reqs[i] = q.Request(tenant)
	}
	rep := privilege.Simulate(current, draft, reqs, now)
	view := simulateView{PolicyVersion: snap.Version, PlatformVersion: snap.PlatformVersion}
	if in.Replay != nil {
		q := privilege.DecisionQuery{Tenant: tenant, Since: in.Replay.Since, Limit: in.Replay.Limit}
		recs, err := a.svc.Decisions(c.Request.Context(), q)
		if err != nil {
			a.fail(c, err)
			return
		}
		// A decision is replayed at the time it was made, as it was asked.
		for _, r := range recs {
			add(&rep, privilege.Simulate(current, draft, []privilege.Request{r.Request()}, r.At))
		}
		view.Replayed = len(recs)
	}
	view.SimReport = rep
	c.JSON(http.StatusOK, view)
}

// add appends the results and counts of more to rep.
func add(rep *privilege.SimReport, more privilege.SimReport) {
	rep.Results = append(rep.Results, more.Results...)
	rep.Checked += more.Checked
	rep.Changed += more.Changed
	rep.NewlyAllowed += more.NewlyAllowed
	rep.NewlyDenied += more.NewlyDenied
}
