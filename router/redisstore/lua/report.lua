-- report.lua: record one call outcome: release its lease, update the
-- instance's circuit (consecutive failures, error rate over a two-bucket
-- sliding window, ejection with growing cooldown, half-open probe result).
--
-- KEYS[1] cfg (its _n counts circuits not closed), KEYS[2] state,
-- KEYS[3] leases, KEYS[4] circuit (see decide.lua)
-- ARGV[1] instance id, ARGV[2] '1' ok or '0' error, ARGV[3] lease id or ''.
-- Unknown instances (no i:<id> field in cfg) are refused with GRNOINSTANCE.
-- Returns the circuit state after the outcome: closed, open or half_open,
-- followed by '!' when this outcome opened or closed the circuit.
local got = redis.call('HMGET', KEYS[1], '_svc', 'i:' .. ARGV[1], '_n')
if not got[1] then return redis.error_reply('GRNOCFG') end
if not got[2] then return redis.error_reply('GRNOINSTANCE') end
local svcraw = got[1]
local id, ok, lease = ARGV[1], ARGV[2] == '1', ARGV[3]

if lease ~= '' and redis.call('ZREM', KEYS[3], lease) == 1 then
  local owner = redis.call('HGET', KEYS[2], 'l:' .. lease)
  if owner then
    redis.call('HINCRBY', KEYS[2], 'lc:' .. owner, -1)
    redis.call('HDEL', KEYS[2], 'l:' .. lease)
  end
end

local svc = cjson.decode(svcraw)
local cb = svc.cb
if not cb then return 'closed' end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function k(f) return id .. '|' .. f end
local v = redis.call('HMGET', KEYS[4], k('s'), k('u'), k('f'), k('e'), k('w'), k('n'), k('x'), k('pn'), k('px'), k('c'))
local s = v[1]
local u, f, e = tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
local ws, n, x = tonumber(v[5]) or 0, tonumber(v[6]) or 0, tonumber(v[7]) or 0
local pn, px, closed = tonumber(v[8]) or 0, tonumber(v[9]) or 0, tonumber(v[10]) or 0

-- Roll the window: the previous bucket counts in proportion to how much of
-- it still overlaps the sliding window.
local win = cb.win * 1000
local cur = now - (now % win)
if ws ~= cur then
  if ws == cur - win then pn, px = n, x else pn, px = 0, 0 end
  ws, n, x = cur, 0, 0
end
n = n + 1
if ok then f = 0 else x = x + 1; f = f + 1 end

local delta = 0
local function eject()
  local cool = cb.base * 1000 * (2 ^ e)
  if cool > cb.max * 1000 then cool = cb.max * 1000 end
  s, u, e, f = 'o', now + cool, e + 1, 0
end

if s == 'h' or (s == 'o' and u <= now) then
  -- A probe's outcome; or, once a cooldown is over with no decision
  -- probing yet, the first outcome reported: deciders that route from a
  -- snapshot (the SDK's local mode) send calls again then.
  if ok then
    s, closed, delta = nil, now, -1
    n, x, pn, px = 0, 0, 0, 0
  else
    eject()
  end
elseif s == 'o' then
  -- The outcome of a call started before the ejection: the window counts
  -- it, the circuit stays as it is.
elseif not ok then
  local share = 1 - (now - cur) / win
  local tn, tx = n + pn * share, x + px * share
  local trip = (cb.cf > 0 and f >= cb.cf) or (cb.er > 0 and tn >= cb.mr and tx * 100 >= cb.er * tn)
  if trip then
    local nopen = tonumber(got[3]) or 0
    if (nopen + 1) * 100 <= cb.mep * svc.n then
      -- A long healthy stretch since the last ejection forgives earlier ones.
      if closed > 0 and now - closed > cb.max * 1000 then e = 0 end
      eject()
      delta = 1
    end
  end
end

redis.call('HSET', KEYS[4], k('u'), u, k('f'), f, k('e'), e, k('w'), ws, k('n'), n, k('x'), x,
  k('pn'), pn, k('px'), px, k('c'), closed)
if s then redis.call('HSET', KEYS[4], k('s'), s) else redis.call('HDEL', KEYS[4], k('s')) end
if delta ~= 0 then redis.call('HINCRBY', KEYS[1], '_n', delta) end
-- A trailing '!' says the circuit opened or closed with this outcome.
local out = 'closed'
if s == 'o' then out = 'open' elseif s == 'h' then out = 'half_open' end
if delta ~= 0 then out = out .. '!' end
return out
