package router

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far (user and system, all
// threads). On a shared machine the wall-clock ns/op of a benchmark
// includes the time other processes had the CPU; CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
