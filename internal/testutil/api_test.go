package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReplyStr(t *testing.T) {
	var r Reply
	if err := json.Unmarshal([]byte(`{
		"name": "acme", "none": null, "yes": true,
		"revision": 2000, "big": 12345678901234, "million": 1e6,
		"half": 0.5, "third": 1.25, "tiny": 1e-7, "negative": -3,
		"instance": {"id": "o2a", "weight": 10, "tags": {"zone": "a"}},
		"error": {"code": "not_found"}
	}`), &r.Body); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path []string
		want string
	}{
		{[]string{"name"}, "acme"},
		{[]string{"none"}, ""},
		{[]string{"missing"}, ""},
		{[]string{"yes"}, "true"},
		{[]string{"revision"}, "2000"},
		{[]string{"big"}, "12345678901234"},
		{[]string{"million"}, "1000000"},
		{[]string{"half"}, "0.5"},
		{[]string{"third"}, "1.25"},
		{[]string{"tiny"}, "0.0000001"},
		{[]string{"negative"}, "-3"},
		{[]string{"instance", "id"}, "o2a"},
		{[]string{"instance", "weight"}, "10"},
		{[]string{"instance", "tags", "zone"}, "a"},
		{[]string{"instance", "missing", "deeper"}, ""},
		{[]string{"name", "not-an-object"}, ""},
	} {
		if got := r.Str(tt.path...); got != tt.want {
			t.Errorf("Str(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := r.ErrCode(); got != "not_found" {
		t.Errorf("ErrCode() = %q, want not_found", got)
	}
	if got := (Reply{}).Str("anything"); got != "" {
		t.Errorf("Str on an empty reply = %q, want empty", got)
	}
}

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestReplyMust(t *testing.T) {
	r := Reply{Status: 404, Raw: `{"error":{"code":"not_found"}}` + "\n"}
	var ok fakeTB
	if got := r.Must(&ok, 404); got.Status != 404 || ok.failed != "" {
		t.Fatalf("Must(404) on a 404: returned %d, failed %q", got.Status, ok.failed)
	}
	var bad fakeTB
	r.Must(&bad, 200)
	if want := `status 404, want 200: {"error":{"code":"not_found"}}`; bad.failed != want {
		t.Fatalf("Must(200) on a 404 failed with %q, want %q", bad.failed, want)
	}
}

func TestCallAPI(t *testing.T) {
	type seen struct {
		method, path, auth, contentType, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		if r.URL.Path == "/text" {
			fmt.Fprint(w, "not json")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"t1","revision":7,"client":{"id":"c1"}}`+"\n")
	}))
	defer srv.Close()

	for _, tt := range []struct {
		name   string
		client *http.Client
		token  string
		body   any
		want   string
	}{
		{"nil body", nil, "tok", nil, ""},
		{"string", srv.Client(), "tok", `{"raw":1}`, `{"raw":1}`},
		{"bytes", nil, "", []byte(`[1,2]`), `[1,2]`},
		{"json", nil, "tok", map[string]any{"name": "acme"}, `{"name":"acme"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := CallAPI(t, tt.client, srv.URL, tt.token, "POST", "/api/v1/tenants?x=1", tt.body).Must(t, http.StatusCreated)
			s := <-got
			wantAuth := ""
			if tt.token != "" {
				wantAuth = "Bearer " + tt.token
			}
			if s.method != "POST" || s.path != "/api/v1/tenants?x=1" || s.auth != wantAuth || s.contentType != "application/json" || s.body != tt.want {
				t.Errorf("server saw %+v, want body %q and Authorization %q", s, tt.want, wantAuth)
			}
			if r.Str("id") != "t1" || r.Str("revision") != "7" || r.Str("client", "id") != "c1" || !strings.HasPrefix(r.Raw, `{"id":"t1"`) {
				t.Errorf("reply %+v", r)
			}
		})
	}

	r := CallAPI(t, nil, srv.URL, "", "GET", "/text", nil)
	<-got
	if r.Status != 200 || r.Body != nil || r.Raw != "not json" || r.Str("id") != "" {
		t.Errorf("a non-JSON answer: %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var f fakeTB
	CallAPIContext(ctx, &f, nil, srv.URL, "", "GET", "/text", nil)
	if !strings.HasPrefix(f.failed, "GET /text: ") || !strings.Contains(f.failed, "context canceled") {
		t.Errorf("a call with a canceled context failed with %q", f.failed)
	}
}
