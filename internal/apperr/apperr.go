// Package apperr defines the small set of error codes every greyrouter domain
// package speaks. Adapters translate driver errors into these codes; only the
// HTTP layer maps them to status codes. It imports nothing but the standard
// library so that pure domain logic and the SDK can use it.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers; it is stable and part of the API.
type Code string

// The error codes, mapped to HTTP statuses in one table by the HTTP adapters.
const (
	Invalid         Code = "invalid"
	Unauthenticated Code = "unauthenticated"
	Forbidden       Code = "forbidden"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	Unprocessable   Code = "unprocessable"
	TooLarge        Code = "too_large"
	RateLimited     Code = "rate_limited"
	Unavailable     Code = "unavailable"
	Internal        Code = "internal"
)

// Error is a domain error: a code, a message fit to show to the caller and
// optional per-field details.
type Error struct {
	Code    Code
	Message string
	Details map[string]string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil && e.Message == "" {
		return e.cause.Error()
	}
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with the code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the code whose message is msg and whose cause is err.
func Wrap(code Code, err error, msg string) *Error {
	return &Error{Code: code, Message: msg, cause: err}
}

// Fields returns an Unprocessable error listing problems per field; nil
// when there are none. Malformed input (bad JSON) is Invalid instead.
func Fields(msg string, problems map[string]string) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Code: Unprocessable, Message: msg, Details: problems}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// MessageOf returns the caller-facing message: the domain message for domain
// errors, a generic text for everything else (whose details must not leak).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}

// DetailsOf returns the per-field details of a domain error, if any.
func DetailsOf(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
