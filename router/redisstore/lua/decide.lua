-- decide.lua: one routing decision, version then instance, in one call.
--
-- KEYS[1] cfg    hash: _svc, _rev, t:<tenant> -> binding, v:<version> -> instances,
--                i:<id> -> version of every known instance
-- KEYS[2] state  hash: rr:<version>, w:<version>:<id>, lc:<id>, l:<lease>, hb:<id>
-- KEYS[3] leases zset: lease id -> expiry (ms)
-- KEYS[4] circuit hash: <id>|s, <id>|u, ... and _n (instances not closed)
-- ARGV[1] tenant, ARGV[2] request key, ARGV[3] request JSON {"h":{},"a":{}} or '',
-- ARGV[4] random number in [0,1), ARGV[5] lease id, ARGV[6] '1' to explain.
--
-- Every key arrives in KEYS and all share the service's hash tag, so the
-- script is safe on Redis Cluster. Errors are replies starting with GR.
local cfg, st, leases, cbk = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tenant, rkey, rjson = ARGV[1], ARGV[2], ARGV[3]
local rnd = tonumber(ARGV[4])

local got = redis.call('HMGET', cfg, '_svc', 't:' .. tenant, '_rev')
if not got[1] then return redis.error_reply('GRNOCFG') end
if not got[2] then return redis.error_reply('GRNOTENANT') end
local svc = cjson.decode(got[1])

local req
local function lookup(src, name)
  if req == nil then
    if rjson == '' then req = {} else req = cjson.decode(rjson) end
    if type(req.h) ~= 'table' then req.h = {} end
    if type(req.a) ~= 'table' then req.a = {} end
  end
  local v
  if src == 'h' then v = req.h[name] else v = req.a[name] end
  if type(v) ~= 'string' then return nil end
  return v
end

local function matches(rule)
  for _, c in ipairs(rule.w) do
    local v = lookup(c.s, c.n)
    if v == nil then return false end
    if c.o == 'e' then
      if v ~= c.x then return false end
    elseif c.o == 'i' then
      if c.x[v] == nil then return false end
    elseif c.o == 'p' then
      if string.sub(v, 1, #c.x) ~= c.x then return false end
    else
      return false
    end
  end
  return true
end

local function hash32(s)
  return tonumber(string.sub(redis.sha1hex(s), 1, 8), 16)
end

-- Version step: rules by priority, then pin or sticky split, then default.
local b
if got[2] ~= '' then b = cjson.decode(got[2]) end
local version, reason, rule, bucket, sticky
if b then
  if b.r then
    for i, r in ipairs(b.r) do
      if matches(r) then version, reason, rule = r.v, 'rule', i; break end
    end
  end
  if b.st == 'k' then sticky = rkey else sticky = lookup(b.st, b.sn) end
  if sticky == '' then sticky = nil end
  if not version then
    if b.m == 'pin' then
      version, reason = b.v, 'pin'
    elseif b.m == 'split' then
      if sticky then
        bucket = hash32(b.salt .. ':' .. tenant .. ':' .. sticky) % 10000
      else
        bucket = math.floor(rnd * 10000)
      end
      if bucket < b.bp then version, reason = b.c, 'split_candidate' else version, reason = b.b, 'split_baseline' end
    end
  end
else
  if rkey ~= '' then sticky = rkey end
end
if not version then
  version, reason = svc.d, 'default'
  if version == nil or version == '' then return redis.error_reply('GRNOVERSION') end
end

-- Instance step.
local raw = redis.call('HGET', cfg, 'v:' .. version)
if not raw then return redis.error_reply('GRNOINSTANCE ' .. version) end
local all = cjson.decode(raw)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Live: heartbeat not expired (instances without a TTL are always live).
local alive = all
local hbf, hbi = {}, {}
for i, inst in ipairs(all) do
  if inst.t and inst.t > 0 then hbf[#hbf + 1] = 'hb:' .. inst.id; hbi[#hbi + 1] = i end
end
if #hbf > 0 then
  local vals = redis.call('HMGET', st, unpack(hbf))
  local dead = {}
  for j, i in ipairs(hbi) do
    if (tonumber(vals[j]) or 0) < now then dead[i] = true end
  end
  alive = {}
  for i, inst in ipairs(all) do if not dead[i] then alive[#alive + 1] = inst end end
end
if #alive == 0 then return redis.error_reply('GRNOINSTANCE ' .. version) end

-- Healthy: circuit closed. An instance whose cooldown (or unanswered probe)
-- ran out is probed with this decision, one probe at a time.
local healthy, probe = alive, nil
local cb = svc.cb
if cb and tonumber(redis.call('HGET', cbk, '_n') or '0') > 0 then
  local f = {}
  for _, inst in ipairs(alive) do f[#f + 1] = inst.id .. '|s'; f[#f + 1] = inst.id .. '|u' end
  local vals = redis.call('HMGET', cbk, unpack(f))
  healthy = {}
  for i, inst in ipairs(alive) do
    if not vals[2 * i - 1] then
      healthy[#healthy + 1] = inst
    elseif probe == nil and (tonumber(vals[2 * i]) or 0) <= now then
      probe = inst
    end
  end
end

local pool, panic = healthy, false
if cb and cb.panic > 0 and #healthy * 100 < #alive * cb.panic then
  pool, panic = alive, true
end

local s = svc.s
local pick, lease
if probe then
  pick = probe
  redis.call('HSET', cbk, probe.id .. '|s', 'h', probe.id .. '|u', now + cb.probe * 1000)
elseif #pool == 0 then
  return redis.error_reply('GRNOHEALTHY ' .. version)
elseif s == 'round_robin' then
  local n = redis.call('HINCRBY', st, 'rr:' .. version, 1)
  pick = pool[(n - 1) % #pool + 1]
elseif s == 'weighted_round_robin' then
  local f = {}
  for i, inst in ipairs(pool) do f[i] = 'w:' .. version .. ':' .. inst.id end
  local cur = redis.call('HMGET', st, unpack(f))
  local total, best = 0, 1
  for i, inst in ipairs(pool) do
    cur[i] = (tonumber(cur[i]) or 0) + inst.w
    total = total + inst.w
    if cur[i] > cur[best] then best = i end
  end
  cur[best] = cur[best] - total
  local upd = {}
  for i = 1, #pool do upd[2 * i - 1] = f[i]; upd[2 * i] = cur[i] end
  redis.call('HSET', st, unpack(upd))
  pick = pool[best]
elseif s == 'random' then
  pick = pool[math.floor(rnd * #pool) + 1]
elseif s == 'weighted_random' then
  local total = 0
  for _, inst in ipairs(pool) do total = total + inst.w end
  local x = rnd * total
  pick = pool[#pool]
  for _, inst in ipairs(pool) do
    if x < inst.w then pick = inst; break end
    x = x - inst.w
  end
elseif s == 'least_connections' then
  -- Expired leases belong to callers that never reported: release them.
  local old = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 64)
  for _, l in ipairs(old) do
    local owner = redis.call('HGET', st, 'l:' .. l)
    if owner then redis.call('HINCRBY', st, 'lc:' .. owner, -1); redis.call('HDEL', st, 'l:' .. l) end
    redis.call('ZREM', leases, l)
  end
  local f = {}
  for i, inst in ipairs(pool) do f[i] = 'lc:' .. inst.id end
  local cnt = redis.call('HMGET', st, unpack(f))
  local best, bestv = 1, nil
  for i, inst in ipairs(pool) do
    local v = (tonumber(cnt[i]) or 0) / inst.w
    if bestv == nil or v < bestv then best, bestv = i, v end
  end
  pick = pool[best]
  lease = ARGV[5]
  redis.call('ZADD', leases, now + svc.lease * 1000, lease)
  redis.call('HSET', st, 'l:' .. lease, pick.id)
  redis.call('HINCRBY', st, 'lc:' .. pick.id, 1)
elseif s == 'consistent_hash' then
  if sticky then
    local bestv
    for _, inst in ipairs(pool) do
      local u = (hash32(sticky .. ':' .. inst.id) + 0.5) / 4294967296
      local v = -inst.w / math.log(u)
      if bestv == nil or v > bestv then pick, bestv = inst, v end
    end
  else
    pick = pool[math.floor(rnd * #pool) + 1]
  end
else
  return redis.error_reply('GRBADSTRATEGY ' .. tostring(s))
end

-- An empty table may encode as [] (cjson cannot tell), so omit empty metadata.
local meta = pick.m
if type(meta) ~= 'table' or next(meta) == nil then meta = nil end
local out = {v = version, i = pick.id, a = pick.a, m = meta, r = reason, rev = tonumber(got[3]), l = lease}
if ARGV[6] == '1' then
  local th
  if bucket then th = b.bp end
  out.x = {rule = rule, bucket = bucket, threshold = th, sticky = sticky ~= nil, strategy = s,
    candidates = #all, healthy = #healthy, panic = panic, probe = probe ~= nil}
end
return cjson.encode(out)
