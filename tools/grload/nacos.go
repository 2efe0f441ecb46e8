package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/greyrouter/greyrouter/router/nacos"
)

type nacosFlags struct {
	url, nacosAddr, token string
	trials                int
}

const nacosSummary = `Measures how fast Nacos registrations reach routing decisions. Against a
greyrouter started with --nacos-addrs, it creates tenant "grload" and service
"nacoslat" (version 1.0 as the default), then per trial registers a new
instance in Nacos and deregisters the previous one at the same moment, and
polls POST /api/v1/resolve every 10 ms: "appear" is the time until a decision
first names the new instance, "gone" until decisions stop naming the old one
(5 in a row). The bootstrap token defaults to $GREYROUTER_ADMIN_TOKEN.`

func nacosCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f nacosFlags
	fs := flag.NewFlagSet("grload nacos", flag.ContinueOnError)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "greyrouter base URL (loopback only)")
	fs.StringVar(&f.nacosAddr, "nacos", "127.0.0.1:8848", "Nacos HTTP host:port (loopback only; gRPC is port+1000)")
	fs.StringVar(&f.token, "token", "", "bootstrap token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.IntVar(&f.trials, "trials", 20, "registration trials")
	if err := parse(fs, nacosSummary, args, stdout, stderr); err != nil {
		return err
	}
	if f.trials < 1 || f.trials > 1000 {
		return fmt.Errorf("%w: --trials must be 1..1000", errUsage)
	}
	u, err := loopbackURL(f.url)
	if err != nil {
		return err
	}
	if err := loopbackAddr(f.nacosAddr); err != nil {
		return err
	}
	if f.token == "" {
		f.token = os.Getenv("GREYROUTER_ADMIN_TOKEN")
	}
	log := newLogger(stderr)
	api := newAPIClient(u.Scheme+"://"+u.Host, 4)
	ignoreConflict := func(err error) error {
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusConflict {
			return nil
		}
		return err
	}
	for _, step := range []struct{ path string }{{"/api/v1/tenants"}, {"/api/v1/services"}} {
		body := map[string]any{"name": "grload"}
		if step.path == "/api/v1/services" {
			body = map[string]any{"name": "nacoslat"}
		}
		if err := ignoreConflict(api.do(ctx, http.MethodPost, step.path, f.token, body, nil)); err != nil {
			return err
		}
	}
	if err := ignoreConflict(api.do(ctx, http.MethodPost, "/api/v1/services/nacoslat/versions", f.token, map[string]any{"name": "1.0"}, nil)); err != nil {
		return err
	}
	if err := api.do(ctx, http.MethodPut, "/api/v1/services/nacoslat", f.token, map[string]any{"default_version": "1.0"}, nil); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "grload-nacos")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	naming, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{f.nacosAddr}, CacheDir: dir + "/cache", LogDir: dir + "/log", LogLevel: "error"})
	if err != nil {
		return err
	}
	defer naming.CloseClient()
	reg := func(port int) nacos.Registration {
		return nacos.Registration{Service: "nacoslat", IP: "127.0.0.1", Port: uint64(port), Ephemeral: true,
			Metadata: map[string]string{"version": "1.0"}}
	}
	register := func(r nacos.Registration) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := nacos.Register(naming, r)
			if err == nil || time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	resolve := func() (string, error) {
		var d struct {
			Instance struct {
				ID string `json:"id"`
			} `json:"instance"`
		}
		err := api.do(ctx, http.MethodPost, "/api/v1/resolve", f.token, map[string]any{"tenant": "grload", "service": "nacoslat"}, &d)
		return d.Instance.ID, err
	}
	id := func(port int) string { return nacos.InstanceID("", "127.0.0.1", uint64(port)) }

	base := 30000 + int(time.Now().Unix()%1000)*10
	if err := register(reg(base)); err != nil {
		return err
	}
	var appear, gone []time.Duration
	for trial := 1; trial <= f.trials; trial++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		prev, next := base+trial-1, base+trial
		// Wait until the previous instance is being chosen, so each trial
		// starts from a settled table.
		if err := waitFor(ctx, 30*time.Second, func() bool { got, err := resolve(); return err == nil && got == id(prev) }); err != nil {
			return fmt.Errorf("trial %d: the previous instance never settled: %w", trial, err)
		}
		start := time.Now()
		if err := register(reg(next)); err != nil {
			return err
		}
		if err := nacos.Deregister(naming, reg(prev)); err != nil {
			return err
		}
		var sawNew time.Duration
		streak := 0
		for streak < 5 {
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("trial %d: no settled decision for the new instance within 30 s", trial)
			}
			got, err := resolve()
			switch {
			case err != nil || got != id(next):
				streak = 0
			default:
				if sawNew == 0 {
					sawNew = time.Since(start)
				}
				streak++
			}
			if streak < 5 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		appear = append(appear, sawNew)
		gone = append(gone, time.Since(start))
		log.Info("trial", "n", trial, "appear", sawNew.Round(time.Millisecond), "old_gone", gone[len(gone)-1].Round(time.Millisecond))
	}
	_ = nacos.Deregister(naming, reg(base+f.trials))
	slices.Sort(appear)
	slices.Sort(gone)
	fmt.Fprintf(stdout, "\ngrload nacos: trials=%d (time from the Nacos call)\n\n", f.trials)
	fmt.Fprintf(stdout, "new instance first decided  p50 %s  p99 %s  max %s   bar p99 <= 3s: %s\n",
		ms(percentile(appear, 0.5)), ms(percentile(appear, 0.99)), ms(appear[len(appear)-1]), metIf(percentile(appear, 0.99) <= 3*time.Second))
	fmt.Fprintf(stdout, "old instance no longer     p50 %s  p99 %s  max %s   bar p99 <= 3s: %s\n",
		ms(percentile(gone, 0.5)), ms(percentile(gone, 0.99)), ms(gone[len(gone)-1]), metIf(percentile(gone, 0.99) <= 3*time.Second))
	return nil
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
