package examples_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// drainFor is how long billing-v2 drains when the drain test stops it;
// the other instances drain for shortDrain, so that cleanup is quick.
// Callers deciding locally hear of a drain with the router's next
// snapshot (a drain makes no configuration revision; the router notices
// the change count it bumps within ~0.1-0.3 s, at worst at its periodic
// rebuild every second), so drainFor leaves them two seconds.
const (
	drainFor   = 3 * time.Second
	shortDrain = "300ms"
)

// movedWithin is how long into billing-v2's drain callers may still reach
// it; from then until it stops, none may.
const movedWithin = drainFor - 500*time.Millisecond

// outcome is one call of the drain test.
type outcome struct {
	at       time.Time // when the call was sent
	instance string    // the billing instance that served it
	err      error
}

// drain starts a second billing v2, then stops the first with SIGTERM
// while two callers call without pause: no call fails, callers move to
// billing-v2b while billing-v2 still answers, and billing-v2 leaves the
// router's table.
func (d *demoEnv) drain(t *testing.T) {
	d.procs["billing-v2b"] = d.ps.start("billing-v2b", "billing", "-version", "v2", "-id", "billing-v2b", "-drain-for", shortDrain)
	eventually(t, 10*time.Second, "billing-v2b serving", func() error {
		a, err := d.call(d.alice, "alice")
		if err != nil {
			return err
		}
		if a.Billing.Instance != "billing-v2b" {
			return errNotYet
		}
		return nil
	})

	// Two callers call without pause while billing-v2 drains and stops.
	results := make(chan outcome, 1<<16)
	stop := make(chan struct{})
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{at: time.Now()}
				a, err := d.call(d.alice, "alice")
				o.err = err
				if err == nil {
					o.instance = a.Billing.Instance
				}
				results <- o
			}
		}()
	}
	stopCalls := sync.OnceFunc(func() {
		close(stop)
		for range 2 {
			<-done
		}
	})
	defer stopCalls()
	var all []outcome
	collect := func(until func() bool) {
		deadline := time.After(20 * time.Second)
		for !until() {
			select {
			case o := <-results:
				all = append(all, o)
			case <-deadline:
				t.Fatalf("drain test: only %d calls within 20s", len(all))
			}
		}
	}
	collect(func() bool { return len(all) >= 20 })

	v2 := d.procs["billing-v2"]
	sigterm := time.Now()
	v2.terminate()
	if err := v2.wait(drainFor + 20*time.Second); err != nil {
		t.Fatalf("billing-v2 after SIGTERM: %v\n%s", err, v2.out.String())
	}
	exited := time.Now()
	collect(func() bool { return len(all) > 0 && all[len(all)-1].at.After(exited.Add(200*time.Millisecond)) })
	stopCalls()
	for len(results) > 0 {
		all = append(all, <-results)
	}

	if took := exited.Sub(sigterm); took < drainFor {
		t.Errorf("billing-v2 exited %s after SIGTERM, before its %s drain was over", took, drainFor)
	}
	var failed, late, during, answered int
	for _, o := range all {
		if o.at.After(sigterm) && o.at.Before(exited) {
			during++
		}
		switch {
		case o.err != nil:
			failed++
			t.Errorf("call at SIGTERM%+v failed: %v", o.at.Sub(sigterm).Round(time.Millisecond), o.err)
		case o.instance == "billing-v2" && o.at.After(sigterm.Add(movedWithin)):
			// Callers must have moved well before the instance stops.
			late++
		case o.instance == "billing-v2" && o.at.After(sigterm):
			answered++
		}
	}
	if failed > 0 || late > 0 {
		t.Fatalf("%d of %d calls failed, %d still reached billing-v2 more than %s into its drain", failed, len(all), late, movedWithin)
	}
	if during == 0 {
		t.Fatalf("no call was made while billing-v2 drained")
	}
	// Callers hear of the drain some time after SIGTERM (a second, for
	// local decisions); what they sent billing-v2 meanwhile it must still
	// answer. (Had it stopped serving at once, orders' Transport would
	// have retried those calls elsewhere: no failure, but no answer from
	// billing-v2 either.)
	if answered == 0 {
		t.Fatalf("billing-v2 answered no call sent after SIGTERM: it stopped serving before callers moved away")
	}
	if r := d.admin.call(t, "GET", "/api/v1/services/billing/instances/billing-v2", nil); r.Status != http.StatusNotFound {
		t.Fatalf("billing-v2 after its shutdown: %d %s, want 404 (deregistered)", r.Status, r.Raw)
	}
	t.Logf("%d calls, %d while billing-v2 drained (%s from SIGTERM to exit; it answered %d of them), none failed",
		len(all), during, exited.Sub(sigterm).Round(time.Millisecond), answered)
}
