-- heartbeat.lua: keep an instance live for another period, on Redis time
-- (the clock decide.lua compares with).
-- KEYS[1] state hash; ARGV[1] instance id, ARGV[2] period in ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'hb:' .. ARGV[1], now + tonumber(ARGV[2]))
return 1
