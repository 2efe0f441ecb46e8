-- session_lib.lua: helpers shared by the session_*.lua scripts. Go prepends
-- this file to each of them before wrapping it in redis.NewScript, so the
-- scripts below can call these local functions; it is never run alone.
--
-- A session is a hash holding its public fields (FIELDS), 'sh' = hash of
-- the session credential's secret, 'rt' = hash of the current refresh
-- token, and 'u:<hash>' = 1 for every refresh token already exchanged.
-- The user's index is a sorted set: member = session id, score = creation
-- time in ms. All times are ms integers passed by the caller, never Redis
-- TIME, so tests control the clock.

-- FIELDS are the public fields in the order Go encodes and decodes them.
local FIELDS = {'id', 'tenant', 'user_id', 'username', 'platform', 'admin',
  'generation', 'ip', 'ua', 'csrf', 'created', 'last_seen', 'idle_exp', 'exp'}
local F_ID, F_CREATED, F_LAST_SEEN, F_IDLE_EXP, F_EXP = 1, 11, 12, 13, 14

-- ms formats an integer without the exponent Lua's %.14g could choose.
local function ms(n)
  return string.format('%d', n)
end

-- load returns the public fields of the session at key, nil when it is gone.
local function load(key)
  local s = redis.call('HMGET', key, unpack(FIELDS))
  if not s[F_ID] then
    return nil
  end
  return s
end

-- alive reports whether s is usable at now: before both expiries.
local function alive(s, now)
  return now < tonumber(s[F_IDLE_EXP]) and now < tonumber(s[F_EXP])
end

-- drop deletes a session and its index entry.
local function drop(key, idx, sid)
  redis.call('DEL', key)
  redis.call('ZREM', idx, sid)
end

-- expire sets the session key's TTL to what is left of it at now plus
-- margin (room for replicas whose clocks differ; the logical check is
-- alive), and stretches the index's TTL to at least as much, so the index
-- outlives every session in it.
local function expire(key, idx, s, now, margin)
  local ttl = math.min(tonumber(s[F_IDLE_EXP]), tonumber(s[F_EXP])) - now + margin
  if ttl < 1 then
    ttl = 1
  end
  redis.call('PEXPIRE', key, ms(ttl))
  local cur = redis.call('PTTL', idx)
  if cur == -1 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', idx, ms(ttl))
  end
end

-- touch records a use at now: last_seen = now, idle_exp = min(now + idle,
-- exp). It re-adds the index entry if the index was lost, so "log out
-- everywhere" still finds the session.
local function touch(key, idx, s, now, idle, margin)
  local idleExp = math.min(now + idle, tonumber(s[F_EXP]))
  s[F_LAST_SEEN], s[F_IDLE_EXP] = ms(now), ms(idleExp)
  redis.call('HSET', key, 'last_seen', s[F_LAST_SEEN], 'idle_exp', s[F_IDLE_EXP])
  redis.call('ZADD', idx, 'NX', s[F_CREATED], s[F_ID])
  expire(key, idx, s, now, margin)
end

-- sweep visits the index (KEYS of the index and the session key prefix),
-- oldest first. Entries whose session is gone are removed, and so are
-- sessions that are dead at now (when now is given); the live ones are
-- returned as {key, sid, fields}.
local function sweep(idx, prefix, now)
  local live = {}
  for _, sid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local key = prefix .. sid
    local s = load(key)
    if not s then
      redis.call('ZREM', idx, sid)
    elseif now and not alive(s, now) then
      drop(key, idx, sid)
    else
      live[#live + 1] = {key, sid, s}
    end
  end
  return live
end

