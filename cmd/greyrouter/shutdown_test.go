package main

import (
	"net/http"
	"testing"
	"time"
)

// TestShutdownAnswersWaitingLongPolls: a routing-snapshot long poll
// (which may wait a minute) gets its answer as soon as the server shuts
// down, and does not hold up the graceful shutdown.
func TestShutdownAnswersWaitingLongPolls(t *testing.T) {
	s := start(t, map[string]string{})
	etag := s.call(t, "GET", "/api/v1/routing-snapshot", nil).Must(t, http.StatusOK).Str("etag")
	if etag == "" {
		t.Fatal("the snapshot has no etag")
	}
	type answer struct {
		status int
		err    error
	}
	polled := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/routing-snapshot?wait=60&etag="+etag, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			polled <- answer{err: err}
			return
		}
		resp.Body.Close()
		polled <- answer{status: resp.StatusCode}
	}()
	// Give the poll time to reach the server and start waiting.
	select {
	case a := <-polled:
		t.Fatalf("the long poll answered before any change: %+v", a)
	case <-time.After(500 * time.Millisecond):
	}
	began := time.Now()
	s.stop()
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("shutdown took %v with a long poll waiting; want it answered at once", took)
	}
	select {
	case a := <-polled:
		if a.err != nil || a.status != http.StatusNotModified {
			t.Fatalf("the waiting long poll got %+v, want 304", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting long poll got no answer after shutdown")
	}
}
