package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// serverStats are Redis's own counters, read before and after a phase to
// tell client-side from server-side cost: the time Redis spent inside
// EVALSHA (nested redis.call included) and the CPU its process used.
// selfCPU is this process's CPU time, to show what the client side costs
// on the same cores.
type serverStats struct {
	evalCalls int64
	evalUsec  int64
	cpuSec    float64
	selfCPU   time.Duration
}

func (a serverStats) sub(b serverStats) serverStats {
	return serverStats{evalCalls: a.evalCalls - b.evalCalls, evalUsec: a.evalUsec - b.evalUsec, cpuSec: a.cpuSec - b.cpuSec, selfCPU: a.selfCPU - b.selfCPU}
}

func (a serverStats) add(b serverStats) serverStats {
	return serverStats{evalCalls: a.evalCalls + b.evalCalls, evalUsec: a.evalUsec + b.evalUsec, cpuSec: a.cpuSec + b.cpuSec, selfCPU: a.selfCPU + b.selfCPU}
}

// processCPU returns user plus system time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readServerStats parses INFO commandstats and cpu.
func readServerStats(ctx context.Context, rdb redis.UniversalClient) (serverStats, error) {
	info, err := rdb.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return serverStats{}, fmt.Errorf("read redis INFO: %w", err)
	}
	s := serverStats{selfCPU: processCPU()}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name {
		case "cmdstat_evalsha":
			for _, kv := range strings.Split(val, ",") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "calls":
					s.evalCalls, _ = strconv.ParseInt(v, 10, 64)
				case "usec":
					s.evalUsec, _ = strconv.ParseInt(v, 10, 64)
				}
			}
		case "used_cpu_sys", "used_cpu_user":
			f, _ := strconv.ParseFloat(val, 64)
			s.cpuSec += f
		}
	}
	return s, nil
}
