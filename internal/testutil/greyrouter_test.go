package testutil

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGreyrouterStopsAndStartsAgainOnTheSamePortWithItsData(t *testing.T) {
	t.Parallel()
	s := Greyrouter(t, GreyrouterOptions{})
	// The admin token the helper promises must be the one the server
	// takes, and what is stored must survive a restart.
	if got, body := call(t, http.MethodPost, s.URL+"/api/v1/tenants", `{"name":"acme"}`); got != http.StatusCreated {
		t.Fatalf("POST /api/v1/tenants with GreyrouterAdminToken = %d, want 201: %s\n%s", got, body, s.Log())
	}
	url := s.URL

	s.Stop(t)
	if resp, err := (&http.Client{Timeout: time.Second}).Get(url + "/readyz"); err == nil {
		resp.Body.Close()
		t.Fatalf("/readyz still answers %s after Stop", resp.Status)
	}

	s.Start(t)
	if s.URL != url {
		t.Fatalf("URL after Start = %s, want the same %s", s.URL, url)
	}
	if got, _ := call(t, http.MethodGet, s.URL+"/readyz", ""); got != http.StatusOK {
		t.Fatalf("/readyz = %d after Start, want 200\n%s", got, s.Log())
	}
	if got, body := call(t, http.MethodGet, s.URL+"/api/v1/tenants/acme", ""); got != http.StatusOK {
		t.Fatalf("GET /api/v1/tenants/acme after Start = %d, want 200 (the data directory must survive): %s", got, body)
	}
}

// call sends body with the admin token and returns the status and body.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+GreyrouterAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
