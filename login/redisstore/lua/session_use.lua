-- session_use.lua: find a live session, and either use it (prove the
-- session credential and extend the idle expiry) or just read it.
--
-- KEYS[1] the session's hash, KEYS[2] the user's index.
-- ARGV[1] operation: use | get, ARGV[2] session id, ARGV[3] now in ms,
-- ARGV[4] session secret hash (use), ARGV[5] idle timeout in ms (use),
-- ARGV[6] key TTL margin in ms.
--
-- Returns the public fields, or nil for a session that is missing, dead
-- at now (it is deleted) or, for use, proven by a different secret.
local op, sid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])

local s = load(KEYS[1])
if not s then
  redis.call('ZREM', KEYS[2], sid)
  return false
end
if not alive(s, now) then
  drop(KEYS[1], KEYS[2], sid)
  return false
end
if op == 'get' then
  return s
end
if op ~= 'use' then
  return redis.error_reply('ERR session_use: unknown operation ' .. tostring(op))
end
-- Plain equality is fine: these are hashes of 256-bit random secrets.
if redis.call('HGET', KEYS[1], 'sh') ~= ARGV[4] then
  return false
end
touch(KEYS[1], KEYS[2], s, now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return s
