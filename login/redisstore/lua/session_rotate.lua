-- session_rotate.lua: exchange a session's current refresh token for the
-- next one, or detect the reuse of an exchanged one. Being one script, of
-- concurrent calls with one token exactly one finds it current.
--
-- KEYS[1] the session's hash, KEYS[2] the user's index.
-- ARGV[1] session id, ARGV[2] presented refresh token hash, ARGV[3] next
-- refresh token hash, ARGV[4] now in ms, ARGV[5] idle timeout in ms,
-- ARGV[6] key TTL margin in ms.
--
-- Returns {'ok', fields} after an exchange; {'reused', fields} when the
-- presented token was exchanged before (the session is deleted: the token
-- was copied, and the whole family goes); nil when the session is missing,
-- dead at now (it is deleted) or the token is unknown.
local sid, presented, nextHash = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])

local s = load(KEYS[1])
if not s then
  redis.call('ZREM', KEYS[2], sid)
  return false
end
if not alive(s, now) then
  drop(KEYS[1], KEYS[2], sid)
  return false
end
if redis.call('HGET', KEYS[1], 'rt') == presented then
  redis.call('HSET', KEYS[1], 'rt', nextHash, 'u:' .. presented, 1)
  touch(KEYS[1], KEYS[2], s, now, tonumber(ARGV[5]), tonumber(ARGV[6]))
  return {'ok', s}
end
if redis.call('HEXISTS', KEYS[1], 'u:' .. presented) == 1 then
  drop(KEYS[1], KEYS[2], sid)
  return {'reused', s}
end
return false
