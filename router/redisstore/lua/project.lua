-- project.lua: replace a service's routing table atomically, unless a newer
-- revision is already projected (replicas may race; the newest wins).
--
-- KEYS[1] cfg, KEYS[2] state, KEYS[3] circuit (see decide.lua)
-- ARGV[1] revision
-- ARGV[2] JSON array of [instance id, heartbeat seconds] for every instance;
--         heartbeats missing from state are seeded with a full period, so a
--         Redis that lost its data does not drop live instances.
-- ARGV[3..] field, value pairs of the new cfg hash.
-- Returns 1 when projected, 0 when skipped as stale.
local cur = tonumber(redis.call('HGET', KEYS[1], '_rev') or '-1')
if cur > tonumber(ARGV[1]) then return 0 end

redis.call('DEL', KEYS[1])
local batch = {}
for i = 3, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch >= 1000 then redis.call('HSET', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('HSET', KEYS[1], unpack(batch)) end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = {}
for _, inst in ipairs(cjson.decode(ARGV[2])) do
  known[inst[1]] = true
  if inst[2] > 0 then redis.call('HSETNX', KEYS[2], 'hb:' .. inst[1], now + inst[2] * 1000) end
end

-- Forget circuit state of instances that are gone and recount the circuits
-- that are not closed into cfg's _n, which decide.lua reads first.
local cb = redis.call('HGETALL', KEYS[3])
local open, stale = 0, {}
for i = 1, #cb, 2 do
  local id, what = string.match(cb[i], '^(.*)|(%w+)$')
  if id and not known[id] then
    stale[#stale + 1] = cb[i]
  elseif what == 's' then
    open = open + 1
  end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[3], unpack(stale, i, math.min(i + 999, #stale)))
end
redis.call('HSET', KEYS[1], '_n', open)
return 1
