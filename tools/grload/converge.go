package main

import (
	"fmt"
	"sync"
	"time"
)

// convergeWithin bounds how long a change may take to reach an observer
// before a propagation run fails.
const convergeWithin = 10 * time.Second

// untilAll polls every one of n observers in parallel, each every poll,
// until seen(i) reports that observer i sees the change, and returns for
// each the time from start until it did. An error from seen, or an
// observer still not seeing the change convergeWithin after start, fails
// the wait with an error naming the observer (what: "verifier", ...).
func untilAll(n int, what string, start time.Time, poll time.Duration, seen func(i int) (bool, error)) ([]time.Duration, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	took := make([]time.Duration, n)
	deadline := start.Add(convergeWithin)
	for i := range n {
		wg.Go(func() {
			for {
				ok, err := seen(i)
				if err == nil && ok {
					break
				}
				if err == nil && time.Now().After(deadline) {
					err = fmt.Errorf("does not see the change %v after it", convergeWithin)
				}
				if err != nil {
					mu.Lock()
					failed = fmt.Errorf("%s %d: %w", what, i, err)
					mu.Unlock()
					return
				}
				time.Sleep(poll)
			}
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	return took, failed
}
