-- limiter.lua: count login failures of one subject (an account or a client
-- IP) in a sliding window and lock the subject out when they reach the
-- limit, on Redis time so every replica of the login service agrees.
--
-- KEYS[1] sorted set of failures: member = unique id, score = time in ms.
-- KEYS[2] lockout hash: 'until' = end of the last lockout in ms (in the
--         future while locked), 'n' = lockouts so far.
-- ARGV[1] operation: check | fail | reset
-- ARGV[2] window ms, ARGV[3] max failures in the window,
-- ARGV[4] base lockout ms, ARGV[5] max lockout ms, ARGV[6] failure id.
--
-- Returns the remaining lockout in ms, 0 when the subject is not locked.
local op = ARGV[1]

if op == 'reset' then
  -- A successful login forgets the failures but not the lockout history,
  -- so lock -> success -> lock still escalates; the history decays on its
  -- own (see below).
  redis.call('DEL', KEYS[1])
  return 0
end

local window = tonumber(ARGV[2])
local maxFailures = tonumber(ARGV[3])
local base = tonumber(ARGV[4])
local maxLock = tonumber(ARGV[5])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Failures at or before now - window have left the window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)

local lockedUntil = tonumber(redis.call('HGET', KEYS[2], 'until')) or 0
if lockedUntil > now then
  -- Locked. A failure reported now raced with the lock (the caller checks
  -- before verifying a password): it neither counts nor escalates.
  return lockedUntil - now
end
if op == 'check' then
  return 0
end
if op ~= 'fail' then
  return redis.error_reply('ERR limiter: unknown operation ' .. tostring(op))
end

redis.call('ZADD', KEYS[1], now, ARGV[6])
if redis.call('ZCARD', KEYS[1]) < maxFailures then
  -- The newest failure leaves the window last; the set is useless after.
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end

-- The limit is reached: lock for base * 2^n, capped at maxLock. The count
-- of lockouts decays to 0 once the last lockout ended more than maxLock ago.
local n = tonumber(redis.call('HGET', KEYS[2], 'n')) or 0
if lockedUntil > 0 and now - lockedUntil > maxLock then
  n = 0
end
local d = base
for _ = 1, n do
  if d >= maxLock then break end
  d = d * 2
end
if d > maxLock then d = maxLock end
if n < 64 then n = n + 1 end

redis.call('HSET', KEYS[2], 'until', string.format('%d', now + d), 'n', n)
-- Keep the history exactly as long as it can still escalate: until the lock
-- ends plus the decay horizon. Expiry then equals decay.
redis.call('PEXPIRE', KEYS[2], d + maxLock)
redis.call('DEL', KEYS[1])
return d
