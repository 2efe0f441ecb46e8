package httpx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
)

// TestWriteErrorTellsAGoneClientFromAFailure checks that a request whose
// client hung up is answered 499 without the 500 (and error log) an
// unexpected error gets, and that a Canceled error while the client is
// still there stays a 500.
func TestWriteErrorTellsAGoneClientFromAFailure(t *testing.T) {
	gin.SetMode(gin.TestMode)
	serve := func(ctx context.Context, err error) int {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/x", nil).WithContext(ctx)
		httpx.WriteError(c, nil, err)
		return w.Code
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if got := serve(gone, fmt.Errorf("load: %w", context.Canceled)); got != 499 {
		t.Errorf("client gone: status %d, want 499", got)
	}
	if got := serve(context.Background(), context.Canceled); got != http.StatusInternalServerError {
		t.Errorf("canceled while the client waits: status %d, want 500", got)
	}
	if got := serve(gone, apperr.New(apperr.NotFound, "x")); got != http.StatusNotFound {
		t.Errorf("a domain error when the client is gone: status %d, want 404", got)
	}
}
