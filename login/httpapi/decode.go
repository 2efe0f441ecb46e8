package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
)

// request is a decoded request body that can say what is wrong with it.
type request interface {
	// Valid returns a problem per field; none when the request is usable.
	Valid() map[string]string
}

// decode reads the strict, size-limited JSON body into r and validates it,
// once, so that handlers only see usable requests.
func decode(c *gin.Context, r request) error {
	if err := httpx.Decode(c, r); err != nil {
		return err
	}
	return apperr.Fields("invalid request", r.Valid())
}

// formRequest is a request the OAuth endpoints also accept as
// application/x-www-form-urlencoded (RFC 6749 section 4, RFC 7009, RFC
// 7662).
type formRequest interface {
	request
	// setForm copies the parameters it knows; others are ignored, as RFC
	// 6749 section 3.2 asks.
	setForm(f url.Values)
}

// decodeOAuth reads a form or JSON body into r and validates it.
func decodeOAuth(c *gin.Context, r formRequest) error {
	switch strings.ToLower(c.ContentType()) {
	case "application/json":
		return decode(c, r)
	case "application/x-www-form-urlencoded":
		f, err := readForm(c)
		if err != nil {
			return err
		}
		r.setForm(f)
		return apperr.Fields("invalid request", r.Valid())
	}
	return &apperr.Error{Code: apperr.Invalid,
		Message: "content type must be application/x-www-form-urlencoded or application/json",
		Details: map[string]string{"content-type": "unsupported: " + c.GetHeader("Content-Type")}}
}

// readForm parses a size-limited urlencoded body. A parameter given twice
// is an error (RFC 6749 section 3.1).
func readForm(c *gin.Context) (url.Values, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, httpx.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, apperr.New(apperr.TooLarge, "request body larger than %d bytes", httpx.MaxBodyBytes)
	}
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "read request body")
	}
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "malformed form body: %v", err)
	}
	for k, vs := range f {
		if len(vs) > 1 {
			return nil, &apperr.Error{Code: apperr.Invalid, Message: "parameter " + k + " given more than once",
				Details: map[string]string{k: "must be given once"}}
		}
	}
	return f, nil
}

// required adds a problem to p when v is empty.
func required(p map[string]string, field, v string) {
	if v == "" {
		p[field] = "is required"
	}
}
