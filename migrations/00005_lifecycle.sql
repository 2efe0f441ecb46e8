-- Instance lifecycle: a service's warm-up period (a new instance's weight
-- ramps up over it; 0 means none) and when each draining instance started
-- draining (NULL while not draining), which the reconciler needs to remove
-- drained instances after a grace period. Instances already draining count
-- as draining since their last update.

-- +goose Up
ALTER TABLE services ADD COLUMN warmup_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN draining_since TIMESTAMP NULL;
UPDATE instances SET draining_since = updated_at WHERE draining;

-- +goose Down
ALTER TABLE instances DROP COLUMN draining_since;
ALTER TABLE services DROP COLUMN warmup_seconds;
