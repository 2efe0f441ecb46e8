package privilege

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/greyrouter/greyrouter/internal/httperr"
	"io"
	"net/http"
	"net/url"
)

// Error is a check greyrouter refused, or that this client refused
// before asking (Status 0): a malformed request or revision token, a
// credential greyrouter does not accept, a subject the machine client
// may not ask about.
type Error struct {
	// Status is the HTTP status greyrouter answered; 0 when the client
	// refused the check itself.
	Status int
	// Code is greyrouter's error code: invalid, unauthenticated,
	// forbidden, unavailable, ...
	Code    string
	Message string
	Details map[string]string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "privilege check: " + e.Message
	}
	return fmt.Sprintf("privilege check: greyrouter answered %d %s: %s", e.Status, e.Code, e.Message)
}

// outage reports whether the answer says greyrouter cannot answer now
// rather than that the request is wrong.
func (e *Error) outage() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

func invalid(field, problem string) *Error {
	return &Error{Code: "invalid", Message: field + " " + problem, Details: map[string]string{field: problem}}
}

// RevisionHeader carries a revision token to greyrouter.
const RevisionHeader = "X-Privilege-Revision"

// checkBody is greyrouter's check request.
type checkBody struct {
	Subject            string         `json:"subject"`
	SubjectAttributes  map[string]any `json:"subject_attributes,omitempty"`
	Action             string         `json:"action"`
	Resource           string         `json:"resource"`
	ResourceAttributes map[string]any `json:"resource_attributes,omitempty"`
	Env                map[string]any `json:"env,omitempty"`
	Explain            bool           `json:"explain,omitempty"`
}

// errorBody is greyrouter's one JSON error shape.
type errorBody = httperr.Body

// maxAnswer bounds the body read from greyrouter.
const maxAnswer = 1 << 20

// remote asks greyrouter's check API, within Timeout (the token
// included). Transport failures come back as they are; answers other
// than 200 as *Error.
func (c *Client) remote(ctx context.Context, req Request, o CheckOptions) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	token, err := c.o.TokenSource(ctx)
	if err != nil {
		return Decision{}, fmt.Errorf("get an access token: %w", err)
	}
	body, err := json.Marshal(checkBody{Subject: req.Subject.ID, SubjectAttributes: req.Subject.Attributes, Action: req.Action,
		Resource: req.Resource.Name, ResourceAttributes: req.Resource.Attributes, Env: req.Env, Explain: o.Explain})
	if err != nil {
		return Decision{}, invalid("request", "has attributes that are not JSON: "+err.Error())
	}
	u := c.o.BaseURL + "/api/v1/tenants/" + url.PathEscape(req.Tenant) + "/privilege/check"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Decision{}, fmt.Errorf("build the check request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+token)
	if o.AtLeast != "" {
		hr.Header.Set(RevisionHeader, o.AtLeast)
	}
	resp, err := c.o.HTTPClient.Do(hr)
	if err != nil {
		return Decision{}, fmt.Errorf("ask greyrouter: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Decision{}, fmt.Errorf("read greyrouter's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode, Code: "unknown", Message: http.StatusText(resp.StatusCode)}
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			e.Code, e.Message, e.Details = string(eb.Error.Code), eb.Error.Message, eb.Error.Details
		}
		return Decision{}, e
	}
	var d Decision
	if err := json.Unmarshal(b, &d); err != nil {
		return Decision{}, &Error{Status: resp.StatusCode, Code: "internal", Message: "greyrouter's answer is not a decision: " + err.Error()}
	}
	return d, nil
}
