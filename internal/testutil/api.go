package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Reply is a decoded answer of greyrouter's JSON API.
type Reply struct {
	// Status is the HTTP status code.
	Status int
	// Body is the answer decoded as a JSON object; nil when it is not one.
	Body map[string]any
	// Raw is the answer's body as received.
	Raw string
}

// Str returns the value at path in the body as a string: a string as is,
// a missing value or null as "", a number without exponent (an integral
// one as an integer: 2000, not 2e+03), anything else as fmt.Sprint prints
// it.
func (r Reply) Str(path ...string) string {
	var v any = r.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return fmt.Sprintf("%.0f", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// ErrCode returns the error code of an error answer (error.code).
func (r Reply) ErrCode() string { return r.Str("error", "code") }

// Must fails the test with the status and body unless the answer has
// status; it returns r for chaining.
func (r Reply) Must(t testing.TB, status int) Reply {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, strings.TrimSpace(r.Raw))
	}
	return r
}

// CallAPI sends method path to the API at base (such as
// "http://127.0.0.1:8080") with client (http.DefaultClient when nil) and
// returns the decoded answer. A nil body sends none, a string or []byte is
// sent as is and anything else is encoded as JSON; the request says
// Content-Type application/json and carries token as a bearer token
// unless token is "". A failure to send or encode fails the test.
func CallAPI(t testing.TB, client *http.Client, base, token, method, path string, body any) Reply {
	t.Helper()
	return CallAPIContext(context.Background(), t, client, base, token, method, path, body)
}

// CallAPIContext is CallAPI with the request bound to ctx.
func CallAPIContext(ctx context.Context, t testing.TB, client *http.Client, base, token, method, path string, body any) Reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s %s: encode body: %v", method, path, err)
			return Reply{}
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
		return Reply{}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
		return Reply{}
	}
	return ReadReply(resp)
}

// ReadReply reads, closes and decodes resp's body, for a test that builds
// its own request (say, with a header CallAPI does not set).
func ReadReply(resp *http.Response) Reply {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := Reply{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}
