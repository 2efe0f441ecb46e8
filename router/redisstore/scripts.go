package redisstore

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/decide.lua
	decideSrc string
	//go:embed lua/report.lua
	reportSrc string
	//go:embed lua/project.lua
	projectSrc string
	//go:embed lua/heartbeat.lua
	heartbeatSrc string
	//go:embed lua/tenant.lua
	tenantSrc string
	//go:embed lua/leases.lua
	leasesSrc string
)

// The scripts, wrapped once: Run sends EVALSHA and falls back to EVAL when
// the server does not know the script yet (after a restart or SCRIPT FLUSH).
var (
	decideScript    = redis.NewScript(decideSrc)
	reportScript    = redis.NewScript(reportSrc)
	projectScript   = redis.NewScript(projectSrc)
	heartbeatScript = redis.NewScript(heartbeatSrc)
	tenantScript    = redis.NewScript(tenantSrc)
	leasesScript    = redis.NewScript(leasesSrc)
)

// keys are the Redis keys of one service, all in the slot of its hash tag.
type keys struct {
	cfg, state, leases, circuit string
}

func keysFor(service string) keys {
	p := "gr:{" + service + "}:"
	return keys{cfg: p + "cfg", state: p + "st", leases: p + "leases", circuit: p + "cb"}
}

func (k keys) all() []string { return []string{k.cfg, k.state, k.leases, k.circuit} }

// EpochKey marks a complete projection; its absence means Redis lost data.
const EpochKey = "gr:epoch"

// ChangesKey counts changes of what routing snapshots hold that make no
// revision: a table projected anew (instances registered, drained,
// removed, re-weighted) or dropped, a circuit opened or closed. Snapshot
// servers poll it to rebuild at once rather than at their next periodic
// rebuild.
const ChangesKey = "gr:changes"
