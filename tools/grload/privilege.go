package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

type privilegeFlags struct {
	urls, token, tenant string
	trials              int
}

const privilegeSummary = `Measures how long a privilege change takes to reach every greyrouter
instance. Given the base URLs of instances sharing one database and Redis
(--urls, comma-separated; the first takes the writes), it creates a
tenant (or uses --tenant) and a role in it, then for each of --trials trials grants or revokes
that role (alternately) through the first instance and times until every
instance answers the new decision to a check without a revision token,
i.e. from the invalidation alone. The clock starts before the write is
sent, so the write itself is included. Checks poll every 200 µs per
instance. Uses the bootstrap token (default $GREYROUTER_ADMIN_TOKEN).`

func privilegeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f privilegeFlags
	fs := flag.NewFlagSet("grload privilege", flag.ContinueOnError)
	fs.StringVar(&f.urls, "urls", "http://127.0.0.1:8080", "comma-separated greyrouter base URLs (loopback only); the first takes the writes")
	fs.StringVar(&f.token, "token", "", "bootstrap token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant to use (default: a fresh grload-… name)")
	fs.IntVar(&f.trials, "trials", 100, "grant/revoke trials")
	if err := parse(fs, privilegeSummary, args, stdout, stderr); err != nil {
		return err
	}
	if f.trials < 1 || f.trials > 10_000 {
		return fmt.Errorf("%w: --trials must be 1..10000", errUsage)
	}
	var apis []*apiClient
	for _, raw := range strings.Split(f.urls, ",") {
		u, err := loopbackURL(strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		apis = append(apis, newAPIClient(u.Scheme+"://"+u.Host, 4))
	}
	if f.token == "" {
		f.token = os.Getenv("GREYROUTER_ADMIN_TOKEN")
	}
	if f.tenant == "" {
		f.tenant = "grload-" + strings.ToLower(login.NewSessionID()[:10])
	}
	log := newLogger(stderr)
	base := "/api/v1/tenants/" + f.tenant + "/privilege"
	err := apis[0].do(ctx, http.MethodPost, "/api/v1/tenants", f.token, map[string]any{"name": f.tenant}, nil)
	if se, ok := err.(*statusError); err != nil && !(ok && se.status == http.StatusConflict) {
		return fmt.Errorf("create the tenant: %w", err)
	}
	role := map[string]any{"permissions": []map[string]string{{"resource": "orders/*", "action": "read"}}}
	if err := apis[0].do(ctx, http.MethodPut, base+"/roles/reader", f.token, role, nil); err != nil {
		return fmt.Errorf("create the role: %w", err)
	}
	check := map[string]any{"subject": "alice", "action": "read", "resource": "orders/1"}
	allowed := func(api *apiClient) (bool, error) {
		var d struct {
			Allowed bool `json:"allowed"`
		}
		err := api.do(ctx, http.MethodPost, base+"/check", f.token, check, &d)
		return d.Allowed, err
	}

	lat := make([]time.Duration, 0, f.trials)
	perInstance := make([][]time.Duration, len(apis))
	for trial := range f.trials {
		if err := ctx.Err(); err != nil {
			return err
		}
		grant := trial%2 == 0
		// Every instance must hold the previous state before the clock
		// starts (and has it cached: the check just ran).
		for i, api := range apis {
			if got, err := allowed(api); err != nil || got == grant {
				return fmt.Errorf("trial %d: instance %d before the write: allowed=%v err=%v", trial, i, got, err)
			}
		}
		start := time.Now()
		var err error
		if grant {
			err = apis[0].do(ctx, http.MethodPut, base+"/roles/reader/members/alice", f.token, map[string]any{}, nil)
		} else {
			err = apis[0].do(ctx, http.MethodDelete, base+"/roles/reader/members/alice", f.token, nil, nil)
		}
		if err != nil {
			return fmt.Errorf("trial %d: write: %w", trial, err)
		}
		took, err := untilAll(len(apis), "instance", start, 200*time.Microsecond, func(i int) (bool, error) {
			got, err := allowed(apis[i])
			return err == nil && got == grant, err
		})
		if err != nil {
			return fmt.Errorf("trial %d: %w", trial, err)
		}
		for i, d := range took {
			perInstance[i] = append(perInstance[i], d)
		}
		slowest := slices.Max(took)
		lat = append(lat, slowest)
		if (trial+1)%25 == 0 {
			log.Info("progress", "trials", trial+1, "of", f.trials)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "\ngrload privilege: instances=%d trials=%d tenant=%s (time from sending a grant/revoke to the first instance until every instance answers it, no revision token)\n\n", len(apis), f.trials, f.tenant)
	for i, l := range perInstance {
		slices.Sort(l)
		fmt.Fprintf(stdout, "instance %d (%s): p50 %s  p99 %s  max %s\n", i, apis[i].base, ms(percentile(l, 0.50)), ms(percentile(l, 0.99)), ms(l[len(l)-1]))
	}
	fmt.Fprintf(stdout, "all instances:  p50 %s  p90 %s  p99 %s  max %s   bar p99 <= 1s: %s\n",
		ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]),
		metIf(percentile(lat, 0.99) <= time.Second))
	return nil
}
