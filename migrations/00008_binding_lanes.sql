-- Release lanes: what a binding does with a request that travels in a
-- lane (a version name chosen by an earlier hop). permissive follows the
-- lane when the service has that version and decides as without a lane
-- otherwise; strict fails the decision instead; ignore never follows it.
-- Existing bindings become permissive, the default.

-- +goose Up
ALTER TABLE bindings ADD COLUMN lane_mode TEXT NOT NULL DEFAULT 'permissive';

-- +goose Down
ALTER TABLE bindings DROP COLUMN lane_mode;
