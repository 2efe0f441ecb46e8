package embeddedredis

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running embedded Redis listening on a loopback port.
type Server struct {
	m         *miniredis.Miniredis
	closeOnce sync.Once
}

// Start runs an embedded Redis on a random 127.0.0.1 port and warns on log
// that it is not meant for production. ctx bounds only the start: the server
// runs until Close.
//
// miniredis keeps TTLs frozen by default, which would let rate-limit windows
// and sticky-routing entries live forever. Start enables its clock-driven TTL
// mode against the wall clock, so keys expire like on a real Redis (removed
// when next touched) and TIME, seen by Lua scripts too, is the wall clock.
func Start(ctx context.Context, log *slog.Logger) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelWarn,
		"embedded redis: in-process, single node, for evaluation only; set REDIS_URL for production",
		slog.String("addr", m.Addr()))
	return &Server{m: m}, nil
}

// Addr returns the host:port clients connect to.
func (s *Server) Addr() string { return s.m.Addr() }

// Close stops the server and drops its data. It is safe to call more than
// once.
func (s *Server) Close() {
	s.closeOnce.Do(s.m.Close)
}
