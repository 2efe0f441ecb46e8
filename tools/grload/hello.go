package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// helloDecision mimics the size and shape of a resolve answer, so the peer
// encodes a comparable JSON body.
type helloDecision struct {
	Version  string `json:"version"`
	Instance struct {
		ID       string            `json:"id"`
		Address  string            `json:"address"`
		Metadata map[string]string `json:"metadata"`
	} `json:"instance"`
	Reason   string `json:"reason"`
	Revision int64  `json:"revision"`
}

const helloSummary = `Serves one trivial gin route, POST /api/v1/resolve, answering a fixed
decision-shaped JSON without reading Redis, auth or metrics: the HTTP peer
that greyrouter's resolve is compared with under wrk. Runs until
interrupted, or for --duration when set.`

func helloCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grload hello", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18081", "listen address (loopback only)")
	d := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	if err := parse(fs, helloSummary, args, stdout, stderr); err != nil {
		return err
	}
	if err := loopbackAddr(*addr); err != nil {
		return err
	}
	if *d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *d)
		defer cancel()
	}
	log := newLogger(stderr)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	var answer helloDecision
	answer.Version, answer.Reason, answer.Revision = "v1", "default", 1
	answer.Instance.ID, answer.Instance.Address = "orders-v1-1", "10.0.1.1:8080"
	answer.Instance.Metadata = map[string]string{"zone": "eu-1a"}
	r.POST("/api/v1/resolve", func(c *gin.Context) { c.JSON(http.StatusOK, answer) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("hello listening", "addr", ln.Addr().String(), "route", "POST /api/v1/resolve")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("hello stopped")
	return nil
}
