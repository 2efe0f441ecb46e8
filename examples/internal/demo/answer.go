package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/lane"
)

// Answer is what the example services answer: who served the request,
// for whom, in which release lane it arrived, and what the next hop
// answered, so that a caller sees every hop.
type Answer struct {
	Service  string `json:"service"`
	Version  string `json:"version"`
	Instance string `json:"instance"`
	Tenant   string `json:"tenant"`
	Subject  string `json:"subject"`
	// Lane is the lane the request arrived in ("" for the baseline).
	Lane    string  `json:"lane,omitempty"`
	Billing *Answer `json:"billing,omitempty"`
}

// Here returns the answer of the instance cfg describes to r: the
// principal sdk/auth verified and the lane sdk/lane read.
func Here(r *http.Request, cfg ServiceConfig) Answer {
	a := Answer{Service: cfg.Service, Version: cfg.Version, Instance: cfg.ID}
	if p, ok := auth.FromContext(r.Context()); ok {
		a.Tenant, a.Subject = p.Tenant, p.Subject
	}
	if l, ok := lane.FromContext(r.Context()); ok {
		a.Lane = l.Name
	}
	return a
}

// Hops renders the versions a request passed through and the lane it
// reached the last one in, e.g. "orders v2 -> billing v2 (lane v2)".
func (a Answer) Hops() string {
	s := a.Service + " " + a.Version
	last := a
	for next := a.Billing; next != nil; next = next.Billing {
		s += " -> " + next.Service + " " + next.Version
		last = *next
	}
	if last.Lane != "" {
		s += " (lane " + last.Lane + ")"
	}
	return s
}

// ErrorBody is greyrouter's JSON error shape, which the SDK's middleware
// answers with and the example services use too.
type ErrorBody struct {
	Error ErrorDoc `json:"error"`
}

// ErrorDoc is the inside of ErrorBody.
type ErrorDoc struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details map[string]string `json:"details,omitempty"`
}

// StatusError is an answer other than 200 from an example service.
type StatusError struct {
	Status int
	ErrorDoc
}

func (e *StatusError) Error() string {
	msg := e.Message
	for _, k := range slices.Sorted(maps.Keys(e.Details)) {
		msg += fmt.Sprintf("; %s: %s", k, e.Details[k])
	}
	if e.Code == "" {
		return fmt.Sprintf("answered %d: %s", e.Status, msg)
	}
	return fmt.Sprintf("answered %d %s: %s", e.Status, e.Code, msg)
}

// Get sends GET url through hc with the bearer authorization given (the
// caller's own, passed on) and decodes the answer. ctx should be the
// incoming request's context, whose lane the SDK's Transport follows.
func Get(ctx context.Context, hc *http.Client, url, authorization string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Answer{}, fmt.Errorf("read the answer of %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		se := &StatusError{Status: resp.StatusCode}
		var doc ErrorBody
		if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
			se.ErrorDoc = doc.Error
		} else {
			se.Message = string(body[:min(len(body), 200)])
		}
		return Answer{}, se
	}
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Answer{}, fmt.Errorf("decode the answer of %s: %w", url, err)
	}
	return a, nil
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers status with greyrouter's JSON error shape.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDoc{Code: code, Message: message}})
}
