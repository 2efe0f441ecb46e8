-- session_create.lua: store a new session and, under a session limit,
-- evict the user's oldest sessions in the same step.
--
-- KEYS[1] the new session's hash, KEYS[2] the user's index,
-- KEYS[3] the user's session key prefix ('lg:{u:<user id>}:s:').
-- KEYS[3] is the one place a key is built inside a script: the index
-- names sessions by id only, and the script reads and deletes them as
-- KEYS[3] .. id. The prefix holds the user's hash tag, so every key built
-- from it is in the slot of KEYS[1] and KEYS[2] and Cluster accepts it.
-- ARGV[1] now in ms (the session's creation time), ARGV[2] the limit of
-- sessions per user (0: none), ARGV[3] key TTL margin in ms,
-- ARGV[4] session secret hash, ARGV[5] first refresh token hash,
-- ARGV[6..19] the public fields in FIELDS order.
--
-- Returns {'exists'} when the session id is taken, else {'ok', evicted...}
-- with the public fields of every evicted session, oldest first.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end

-- Dead sessions and stale entries go first: they count against no limit.
local live = sweep(KEYS[2], KEYS[3], now)
local reply = {'ok'}
if limit > 0 then
  -- Keep limit - 1, so that with the new one the user has limit.
  for i = 1, #live - (limit - 1) do
    local e = live[i]
    drop(e[1], KEYS[2], e[2])
    reply[#reply + 1] = e[3]
  end
end

local s, args = {}, {}
for i, f in ipairs(FIELDS) do
  s[i] = ARGV[5 + i]
  args[#args + 1] = f
  args[#args + 1] = s[i]
end
args[#args + 1] = 'sh'
args[#args + 1] = ARGV[4]
args[#args + 1] = 'rt'
args[#args + 1] = ARGV[5]
redis.call('HSET', KEYS[1], unpack(args))
redis.call('ZADD', KEYS[2], s[F_CREATED], s[F_ID])
expire(KEYS[1], KEYS[2], s, now, margin)
return reply
