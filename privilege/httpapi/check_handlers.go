package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
)

// checkItem is one question: may subject (default: the caller) do action
// on resource?
type checkItem struct {
	Subject            string         `json:"subject,omitempty"`
	SubjectAttributes  map[string]any `json:"subject_attributes,omitempty"`
	Action             string         `json:"action"`
	Resource           string         `json:"resource"`
	ResourceAttributes map[string]any `json:"resource_attributes,omitempty"`
	Env                map[string]any `json:"env,omitempty"`
	// Explain returns every applicable vote (and bypasses the caches).
	Explain bool `json:"explain,omitempty"`
}

// valid adds the item's problems to p, each field prefixed.
func (it checkItem) valid(p map[string]string, prefix string) {
	if it.Subject != "" && !validSubject(it.Subject) {
		p[prefix+"subject"] = subjectRule
	}
	if it.Action == "" {
		p[prefix+"action"] = "is required"
	}
	if it.Resource == "" {
		p[prefix+"resource"] = "is required"
	}
}

type checkRequest struct {
	checkItem
	// Revision is a token of a write the answer must reflect (or the
	// RevisionHeader).
	Revision string `json:"revision,omitempty"`
}

func (r checkRequest) Valid() map[string]string {
	p := map[string]string{}
	r.valid(p, "")
	return p
}

// maxBatch bounds a batch of checks.
const maxBatch = 100

type batchRequest struct {
	Checks   []checkItem `json:"checks"`
	Revision string      `json:"revision,omitempty"`
}

func (r batchRequest) Valid() map[string]string {
	p := map[string]string{}
	if len(r.Checks) == 0 || len(r.Checks) > maxBatch {
		p["checks"] = fmt.Sprintf("must hold 1 to %d checks", maxBatch)
	}
	for i, it := range r.Checks {
		it.valid(p, fmt.Sprintf("checks[%d].", i))
	}
	return p
}

// request is a decoded, validated request body.
type request interface {
	// Valid returns a problem per field; none when the request is usable.
	Valid() map[string]string
}

// decode reads the strict, size-limited JSON body into r and validates it
// once, so that handlers see only usable requests.
func decode(c *gin.Context, r request) error {
	if err := httpx.Decode(c, r); err != nil {
		return err
	}
	return apperr.Fields("invalid request", r.Valid())
}

// request returns the domain request an item asks in tenant, its subject
// defaulting to the caller, after checking that the caller may ask it.
func (it checkItem) request(c *gin.Context, tenant string) (privilege.Request, error) {
	p := principal(c)
	if it.Subject == "" {
		it.Subject = p.Subject
	}
	if !mayAskAbout(p, tenant, it.Subject) {
		return privilege.Request{}, errOnlyItself
	}
	return privilege.Request{Tenant: tenant, Subject: privilege.Subject{ID: it.Subject, Attributes: it.SubjectAttributes},
		Action: it.Action, Resource: privilege.Resource{Name: it.Resource, Attributes: it.ResourceAttributes}, Env: it.Env}, nil
}

// check answers one question with the decision, its reason and, when the
// service audited it, its decision_id.
func (a *API) check(c *gin.Context) {
	var in checkRequest
	if err := decode(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	tok, err := revisionToken(c, in.Revision)
	if err != nil {
		a.fail(c, err)
		return
	}
	req, err := in.request(c, scope(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	d, err := a.svc.Check(c.Request.Context(), req, service.CheckOptions{AtLeast: tok, Explain: in.Explain, Caller: httpx.Actor(c)})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// checkBatch answers up to maxBatch questions in order. Every question is
// authorized before any is answered.
func (a *API) checkBatch(c *gin.Context) {
	var in batchRequest
	if err := decode(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	tok, err := revisionToken(c, in.Revision)
	if err != nil {
		a.fail(c, err)
		return
	}
	reqs := make([]privilege.Request, len(in.Checks))
	for i, it := range in.Checks {
		if reqs[i], err = it.request(c, scope(c)); err != nil {
			a.fail(c, err)
			return
		}
	}
	caller := httpx.Actor(c)
	results := make([]privilege.Decision, len(reqs))
	for i, req := range reqs {
		d, err := a.svc.Check(c.Request.Context(), req, service.CheckOptions{AtLeast: tok, Explain: in.Checks[i].Explain, Caller: caller})
		if err != nil {
			a.fail(c, err)
			return
		}
		results[i] = d
	}
	c.JSON(http.StatusOK, gin.H{"results": results})
}
