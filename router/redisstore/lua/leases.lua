-- leases.lua: count one instance's live least-connections leases, for the
-- reconciler that removes a draining instance once they ran out.
--
-- KEYS[1] state, KEYS[2] leases (see decide.lua)
-- ARGV[1] instance id.
-- Returns the number of the instance's leases that have not expired.
--
-- Expired leases are released first, as decide.lua does, so the lc:<id>
-- counter no longer counts callers that never reported. decide.lua only
-- reaps while decisions take leases; a draining instance must not wait on
-- traffic to other instances to see its own leases run out.
local st, leases = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
repeat
  local old = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 256)
  for _, l in ipairs(old) do
    local owner = redis.call('HGET', st, 'l:' .. l)
    if owner then redis.call('HINCRBY', st, 'lc:' .. owner, -1); redis.call('HDEL', st, 'l:' .. l) end
    redis.call('ZREM', leases, l)
  end
until #old < 256
local n = tonumber(redis.call('HGET', st, 'lc:' .. ARGV[1])) or 0
if n < 0 then n = 0 end
return n
