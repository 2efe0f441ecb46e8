// Package httpx holds what every greyrouter HTTP API shares: the one JSON
// error shape and its status table, size-limited strict JSON decoding, and
// the authenticated principal in the request context.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httperr"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// StatusOf maps error codes to HTTP statuses, in one table.
var StatusOf = map[apperr.Code]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

// ErrorBody is the one JSON error shape (internal/httperr, shared with
// the SDK).
type ErrorBody = httperr.Body

// ErrorDoc is the inside of ErrorBody.
type ErrorDoc = httperr.Doc

// WriteError writes the one JSON error shape. Internal errors are logged in
// full and shown to the caller only as "internal error".
func WriteError(c *gin.Context, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// The client went away: nobody reads the answer and nothing
		// failed on our side. 499 (nginx's "client closed request") keeps
		// it out of 5xx metrics and error logs.
		c.AbortWithStatus(499)
		return
	}
	code := apperr.CodeOf(err)
	status, ok := StatusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if (code == apperr.Internal || code == apperr.Unavailable) && log != nil {
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "code", code, "err", err)
	}
	if secs := apperr.DetailsOf(err)["retry_after_seconds"]; (code == apperr.RateLimited || code == apperr.Unavailable) && secs != "" {
		c.Header("Retry-After", secs)
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDoc{Code: code, Message: apperr.MessageOf(err), Details: apperr.DetailsOf(err)}})
}

// Decode reads one JSON value from the size-limited body into v, rejecting
// unknown fields and trailing data, with messages that name the problem.
func Decode(c *gin.Context, v any) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return apperr.New(apperr.Invalid, "malformed JSON: unexpected data after the first value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return apperr.New(apperr.TooLarge, "request body larger than %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.Invalid, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.Invalid, "malformed JSON: unexpected end of input")
	case errors.As(err, &syntax):
		return apperr.New(apperr.Invalid, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &apperr.Error{Code: apperr.Invalid, Message: fmt.Sprintf("field %s must be %s", field, typ.Type),
			Details: map[string]string{field: "must be " + typ.Type.String()}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apperr.Error{Code: apperr.Invalid, Message: fmt.Sprintf("unknown field %q", name),
			Details: map[string]string{name: "unknown field"}}
	}
	// Errors returned by custom UnmarshalJSON methods (e.g. percent range).
	return apperr.New(apperr.Invalid, "invalid request: %s", err.Error())
}
