package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// Store projects routing tables into Redis and decides from them.
type Store struct {
	rdb   redis.UniversalClient
	keys  keyCache
	batch *batcher // nil: one round trip per decision
}

var (
	_ router.Projector = (*Store)(nil)
	_ router.Decider   = (*Store)(nil)
)

// New returns a Store on any client: standalone, Sentinel or Cluster.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// NewBatched returns a Store whose decisions are pipelined: concurrent
// decisions waiting at the same moment share one round trip, through
// workers connections at most. Close it to stop the workers.
func NewBatched(rdb redis.UniversalClient, workers int) *Store {
	return &Store{rdb: rdb, batch: newBatcher(rdb, workers, 64)}
}

// Close stops a batched Store's workers; it is a no-op otherwise.
func (s *Store) Close() {
	if s.batch != nil {
		s.batch.close()
	}
}

// eval runs a script, batched when the Store is.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) (string, error) {
	if s.batch != nil {
		return s.batch.do(ctx, script, keys, args...)
	}
	return script.Run(ctx, s.rdb, keys, args...).Text()
}

// Project replaces the service's routing table unless a newer revision is
// already projected.
func (s *Store) Project(ctx context.Context, snap router.Snapshot) error {
	fields, seeds, err := encodeSnapshot(snap)
	if err != nil {
		return err
	}
	k := keysFor(snap.Service.Name)
	// The periodic resync re-projects every service: skip the rewrite when
	// the table in Redis already holds exactly this content. The checksum
	// leaves out tenants without a binding (SetTenant maintains those), so
	// the field count is compared too.
	var sum *redis.StringCmd
	var n *redis.IntCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		sum, n = p.HGet(ctx, k.cfg, "_sum"), p.HLen(ctx, k.cfg)
		return nil
	}); err == nil && sum.Val() == fields[len(fields)-1] && n.Val() == int64(len(fields)/2+1) {
		return nil
	}
	args := make([]any, 0, 2+len(fields))
	args = append(args, snap.Revision, seeds)
	args = append(args, fields...)
	if err := projectScript.Run(ctx, s.rdb, []string{k.cfg, k.state, k.circuit}, args...).Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "project service "+snap.Service.Name)
	}
	s.changed(ctx)
	return nil
}

// changed counts a change under ChangesKey. It is best effort: a snapshot
// server that misses it notices the change at its next periodic rebuild.
func (s *Store) changed(ctx context.Context) {
	_ = s.rdb.Incr(ctx, ChangesKey).Err()
}

var _ router.ChangeCounter = (*Store)(nil)

// Changes returns the count of changes kept under ChangesKey (0 before
// the first).
func (s *Store) Changes(ctx context.Context) (int64, error) {
	n, err := s.rdb.Get(ctx, ChangesKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "read routing changes")
	}
	return n, nil
}

// Drop deletes every key of a service.
func (s *Store) Drop(ctx context.Context, service string) error {
	s.keys.drop(service)
	// One DEL per key: a multi-key DEL is fine in one slot, but keeping
	// them separate makes no assumption about the client's routing.
	for _, key := range keysFor(service).all() {
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "drop service "+service)
		}
	}
	s.changed(ctx)
	return nil
}

// SetTenant adds or removes a binding-less tenant in a projected table.
func (s *Store) SetTenant(ctx context.Context, service, tenant string, present bool) error {
	op := "0"
	if present {
		op = "1"
	}
	if err := tenantScript.Run(ctx, s.rdb, []string{keysFor(service).cfg}, tenant, op).Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "project tenant "+tenant)
	}
	return nil
}

// Intact reports whether the projection marker exists.
func (s *Store) Intact(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, EpochKey).Result()
	if err != nil {
		return false, apperr.Wrap(apperr.Unavailable, err, "check projection marker")
	}
	return n == 1, nil
}

// MarkIntact records that a full projection completed.
func (s *Store) MarkIntact(ctx context.Context) error {
	if err := s.rdb.Set(ctx, EpochKey, time.Now().UTC().Format(time.RFC3339Nano), 0).Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "set projection marker")
	}
	return nil
}

// replyFields is the number of \x1f-separated fields in decide.lua's reply.
const replyFields = 10

// Decide makes one decision with one EVALSHA.
func (s *Store) Decide(ctx context.Context, req router.Request, opts router.DecideOptions) (router.Decision, error) {
	keys, cached := s.keys.get(req.Service)
	if !cached {
		keys = keysFor(req.Service).all()
	}
	var buf [64]byte
	reqJSON := buf[:0]
	if len(req.Headers) > 0 || len(req.Attributes) > 0 {
		reqJSON = appendRequest(reqJSON, req.Headers, req.Attributes)
	}
	explain := "0"
	if opts.Explain {
		explain = "1"
	}
	var rbuf, lbuf [24]byte
	raw, err := s.eval(ctx, decideScript, keys, req.Tenant, req.Key, reqJSON,
		appendRandom(rbuf[:0], rand.Float64()), strconv.AppendUint(lbuf[:0], rand.Uint64(), 36), explain, req.Lane, req.Avoid)
	if err != nil {
		return router.Decision{}, decideError(err, req)
	}
	if !cached {
		s.keys.put(req.Service, keys)
	}
	return parseDecision(raw)
}

// parseDecision splits decide.lua's reply: version, id, address, metadata
// JSON, reason, revision, lease, explanation JSON, deprecated, lane.
func parseDecision(raw string) (router.Decision, error) {
	var f [replyFields]string
	for i := range replyFields - 1 {
		var ok bool
		if f[i], raw, ok = strings.Cut(raw, "\x1f"); !ok {
			return router.Decision{}, fmt.Errorf("decode decision: %d fields, want %d", i+1, replyFields)
		}
	}
	f[replyFields-1] = raw
	rev, err := strconv.ParseInt(f[5], 10, 64)
	if err != nil {
		return router.Decision{}, fmt.Errorf("decode decision revision %q: %w", f[5], err)
	}
	out := router.Decision{
		Version:    f[0],
		Instance:   router.InstanceRef{ID: f[1], Address: f[2], Metadata: map[string]string{}},
		Reason:     f[4],
		Revision:   rev,
		Lease:      f[6],
		Deprecated: f[8] == "1",
		Lane:       f[9],
	}
	if f[3] != "" {
		if err := json.Unmarshal([]byte(f[3]), &out.Instance.Metadata); err != nil {
			return router.Decision{}, fmt.Errorf("decode instance metadata: %w", err)
		}
	}
	if f[7] != "" {
		// decide.lua names the explanation's fields as router.Explanation does.
		out.Explain = &router.Explanation{}
		if err := json.Unmarshal([]byte(f[7]), out.Explain); err != nil {
			return router.Decision{}, fmt.Errorf("decode explanation: %w", err)
		}
	}
	return out, nil
}

// decideError maps the scripts' GR* error replies to domain errors.
func decideError(err error, req router.Request) error {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return apperr.Wrap(apperr.Unavailable, err, "routing store unavailable")
	}
	code, arg := scriptError(rerr)
	switch code {
	case "GRNOCFG":
		return router.ErrNotProjected
	case "GRNOTENANT":
		return apperr.Wrap(apperr.NotFound, router.ErrUnknownTenant, fmt.Sprintf("tenant %q not found", req.Tenant))
	case "GRNOLANE":
		return apperr.Wrap(apperr.NotFound, router.ErrNoLane,
			fmt.Sprintf("no route: service %q has no version for lane %q and tenant %q's binding is strict", req.Service, arg, req.Tenant))
	case "GRNOVERSION":
		return apperr.New(apperr.NotFound, "no route: tenant %q has no binding for %q and the service has no default version", req.Tenant, req.Service)
	case "GRNOINSTANCE":
		return apperr.New(apperr.Unavailable, "no live instance of %s/%s", req.Service, arg)
	case "GRNOHEALTHY":
		return apperr.New(apperr.Unavailable, "every instance of %s/%s is ejected by its circuit breaker", req.Service, arg)
	}
	return fmt.Errorf("decide %s/%s: %w", req.Tenant, req.Service, err)
}

// scriptError splits a script's error reply into its GR code and argument;
// Redis 7 prefixes replies without a code of their own with "ERR ".
func scriptError(err redis.Error) (code, arg string) {
	msg := strings.TrimPrefix(err.Error(), "ERR ")
	code, arg, _ = strings.Cut(msg, " ")
	return code, arg
}

// Report records an outcome, releases its lease and returns the circuit state.
func (s *Store) Report(ctx context.Context, o router.Outcome) (router.ReportResult, error) {
	ok := "0"
	if o.OK {
		ok = "1"
	}
	state, err := s.eval(ctx, reportScript, keysFor(o.Service).all(), o.Instance, ok, o.Lease)
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			switch code, _ := scriptError(rerr); code {
			case "GRNOCFG":
				return router.ReportResult{}, router.ErrNotProjected
			case "GRNOINSTANCE":
				return router.ReportResult{}, apperr.New(apperr.NotFound, "instance %s/%s not found", o.Service, o.Instance)
			}
		}
		return router.ReportResult{}, apperr.Wrap(apperr.Unavailable, err, "report outcome")
	}
	state, flipped := strings.CutSuffix(state, "!")
	if flipped {
		s.changed(ctx)
	}
	return router.ReportResult{Circuit: state}, nil
}

var _ router.CircuitReader = (*Store)(nil)

// OpenCircuits lists the instances of service that decisions avoid right
// now, judged on Redis's clock: circuits open and cooling down, and
// half-open ones whose probe is still out. An open circuit whose cooldown
// is over (or a probe that never reported) is not listed: the next call
// to it is its probe (report.lua takes the first outcome after the
// cooldown as the probe's), which is how deciders that route from a
// snapshot take part in circuit breaking.
func (s *Store) OpenCircuits(ctx context.Context, service string) (map[string]bool, error) {
	k := keysFor(service)
	var all *redis.MapStringStringCmd
	var now *redis.TimeCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, k.circuit)
		now = p.Time(ctx)
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "read circuits of "+service)
	}
	nowMS := now.Val().UnixMilli()
	open := map[string]bool{}
	for field, state := range all.Val() {
		id, ok := strings.CutSuffix(field, "|s")
		if !ok {
			continue
		}
		if until, _ := strconv.ParseInt(all.Val()[id+"|u"], 10, 64); state != "" && until > nowMS {
			open[id] = true
		}
	}
	return open, nil
}

// Heartbeat keeps an instance live for ttl, measured on Redis's clock.
func (s *Store) Heartbeat(ctx context.Context, service, id string, ttl time.Duration) error {
	err := heartbeatScript.Run(ctx, s.rdb, []string{keysFor(service).state}, id, ttl.Milliseconds()).Err()
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "record heartbeat")
	}
	return nil
}

// ActiveLeases counts an instance's unexpired least-connections leases,
// releasing the service's expired ones on the way.
func (s *Store) ActiveLeases(ctx context.Context, service, id string) (int, error) {
	k := keysFor(service)
	n, err := leasesScript.Run(ctx, s.rdb, []string{k.state, k.leases}, id).Int()
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, "count leases of "+service+"/"+id)
	}
	return n, nil
}
