// Package httperr is greyrouter's one JSON error shape,
// {"error": {"code", "message", "details"}}, and a net/http writer for
// it. The server's gin layer (internal/httpx) and the SDK's middleware
// (sdk/auth, sdk/privilege) answer with it alike; it depends on the
// standard library and apperr's codes only, so the SDK can use it
// without reaching into the server's HTTP layer.
package httperr

import (
	"encoding/json"
	"net/http"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Body is the one JSON error shape: {"error": {code, message, details}}.
type Body struct {
	Error Doc `json:"error"`
}

// Doc is the inside of Body.
type Doc struct {
	Code    apperr.Code       `json:"code"`
	Message string            `json:"message"`
	Details map[string]string `json:"details,omitempty"`
}

// Write answers status with doc as the JSON error body, not cacheable.
func Write(w http.ResponseWriter, status int, doc Doc) {
	body, _ := json.Marshal(Body{Error: doc}) // strings and a string map: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
