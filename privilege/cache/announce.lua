-- Announces a policy version: raises the tenant's field of the versions
-- hash to it (never lowers it, so announcements racing each other cannot
-- go backwards) and publishes "<version> <tenant>" on the channel.
-- KEYS[1] the versions hash; ARGV[1] the tenant's field ("-" for the
-- platform), ARGV[2] the version, ARGV[3] the channel.
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local v = tonumber(ARGV[2])
if v > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' ' .. ARGV[1])
return v
