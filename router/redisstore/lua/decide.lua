-- decide.lua: one routing decision, version then instance, in one call.
--
-- KEYS[1] cfg    hash: _s strategy, _d default version, _rev, _n instances
--                whose circuit is not closed, _svc (JSON settings),
--                t:<tenant> binding JSON ('' when none), v:<version> live
--                instances JSON, q:<version> smooth WRR cycle (4 hex digits
--                per step, 1-based index into the instances), i:<id> version,
--                x:<version> '1' when the version is deprecated,
--                _lease least-connections lease seconds
-- KEYS[2] state  hash: rr:<version>, lc:<id>, l:<lease>, hb:<id>
-- KEYS[3] leases zset: lease id -> expiry (ms)
-- KEYS[4] circuit hash: <id>|s state, <id>|u until (ms), ...
-- ARGV[1] tenant, ARGV[2] request key, ARGV[3] request JSON {"h":{},"a":{}} or '',
-- ARGV[4] random number in [0,1), ARGV[5] lease id, ARGV[6] '1' to explain,
-- ARGV[7] the request's lane ('' for none), ARGV[8] an instance id to avoid
-- when another is usable ('' for none: a retry after a failed connection).
--
-- Reply: version, instance id, address, metadata JSON, reason, revision,
-- lease, explanation JSON, deprecated ('1' or ''), lane after this hop,
-- joined by \31. Errors are replies starting GR.
--
-- Every key arrives in KEYS and all share the service's hash tag, so the
-- script is safe on Redis Cluster. The common path is three redis.calls:
-- the cfg fields, the version's instances, and the strategy's counter.
local cfg, st, leases, cbk = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tenant, rkey, rjson = ARGV[1], ARGV[2], ARGV[3]
local rnd = tonumber(ARGV[4])

local got = redis.call('HMGET', cfg, '_s', 't:' .. tenant, '_rev', '_d', '_n')
local strategy = got[1]
if not strategy then return redis.error_reply('GRNOCFG') end
if not got[2] then return redis.error_reply('GRNOTENANT') end
local nopen = tonumber(got[5]) or 0

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

-- The clock is read only when something needs it: heartbeats, circuits
-- that are not closed, or leases.
local now
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end

local svc
local avoid = ARGV[8]
if avoid == '' then avoid = nil end

-- health reads a version's instances: live ones (heartbeat not expired)
-- whose circuit is closed, or all live ones below the panic threshold;
-- an instance due a probe is claimed for this decision. It fails with
-- GRNOINSTANCE (none live) or GRNOHEALTHY (all ejected, no probe due).
-- up[i] is true for live instances (instances without a TTL always are),
-- indexed like all.
local function health(version, vq)
  local all = cjson.decode(vq[1])
  local up, nup = {}, 0
  local hbf, hbi = {}, {}
  for i, inst in ipairs(all) do
    if inst.t then hbf[#hbf + 1] = 'hb:' .. inst.id; hbi[#hbi + 1] = i else up[i] = true; nup = nup + 1 end
  end
  if #hbf > 0 then
    local vals = redis.call('HMGET', st, unpack(hbf))
    for j, i in ipairs(hbi) do
      if (tonumber(vals[j]) or 0) >= clock() then up[i] = true; nup = nup + 1 end
    end
  end
  if nup == 0 then return nil, 'GRNOINSTANCE ' .. version end

  -- Healthy: circuit closed. An instance whose cooldown (or unanswered probe)
  -- ran out is probed with this decision, one probe at a time.
  local ok, nok, probe, panic = up, nup, nil, false
  local nhealthy = nok
  -- Circuit state left over from before circuit breaking was switched off
  -- for the service is ignored.
  if svc == nil and nopen > 0 then svc = cjson.decode(redis.call('HGET', cfg, '_svc')) end
  if svc and svc.cb then
    local f, idx = {}, {}
    for i = 1, #all do
      if up[i] then f[#f + 1] = all[i].id .. '|s'; f[#f + 1] = all[i].id .. '|u'; idx[#idx + 1] = i end
    end
    local vals = redis.call('HMGET', cbk, unpack(f))
    ok, nok = {}, 0
    for j, i in ipairs(idx) do
      if not vals[2 * j - 1] then
        ok[i] = true; nok = nok + 1
      elseif probe == nil and (tonumber(vals[2 * j]) or 0) <= clock() then
        probe = i
      end
    end
    nhealthy = nok
    if svc.cb.panic > 0 and nok * 100 < nup * svc.cb.panic then
      ok, nok, panic = up, nup, true
    end
    if probe and all[probe].id == avoid then probe = nil end
    if probe then
      redis.call('HSET', cbk, all[probe].id .. '|s', 'h', all[probe].id .. '|u', clock() + svc.cb.probe * 1000)
    end
  end
  if avoid then
    for i = 1, #all do
      if all[i].id == avoid then
        if ok[i] and (nok > 1 or probe) then ok[i] = nil; nok = nok - 1 end
        break
      end
    end
  end
  if not probe and nok == 0 then return nil, 'GRNOHEALTHY ' .. version end
  return {all = all, ok = ok, nok = nok, probe = probe, panic = panic, nhealthy = nhealthy}
end

-- Version step (router.ChooseVersion): the request's lane when the
-- binding follows lanes and the service has that version with a usable
-- instance (a strict binding fails otherwise), else rules by priority,
-- then pin or sticky split, then default. The lane's version is read with
-- its instances, so following a lane costs no extra call.
local b
if got[2] ~= '' then b = cjson.decode(got[2]) end
local version, reason, rule, bucket, sticky, vq
if b then
  if b.st == 'k' then sticky = rkey else sticky = lookup(b.st, b.sn) end
  if sticky == '' then sticky = nil end
elseif rkey ~= '' then
  sticky = rkey
end
local h, herr
local lane = ARGV[7] or ''
local lmode = (b and b.lm) or 'p'
if lane ~= '' and lmode ~= 'i' then
  vq = redis.call('HMGET', cfg, 'v:' .. lane, 'q:' .. lane, 'x:' .. lane)
  if vq[1] then
    -- The lane's version exists: it serves when it has a usable instance;
    -- otherwise a strict binding fails as any version would, and a
    -- permissive one decides as without a lane.
    h, herr = health(lane, vq)
    if h or lmode == 's' then version, reason = lane, 'lane' else vq = nil end
  elseif lmode == 's' then
    return redis.error_reply('GRNOLANE ' .. lane)
  else
    vq = nil
  end
end
if b and not version then
  if b.r then
    for i, r in ipairs(b.r) do
      if matches(r) then version, reason, rule = r.v, 'rule', i; break end
    end
  end
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
end
if not version then
  version, reason = got[4], 'default'
  if version == nil or version == '' then return redis.error_reply('GRNOVERSION') end
end
-- router.LaneAfter
local laneOut = lane
if laneOut == '' and version ~= (got[4] or '') then laneOut = version end

-- Instance step.
if not vq then
  vq = redis.call('HMGET', cfg, 'v:' .. version, 'q:' .. version, 'x:' .. version)
  if not vq[1] then return redis.error_reply('GRNOINSTANCE ' .. version) end
  h, herr = health(version, vq)
end
if not h then return redis.error_reply(herr) end
local all, ok, nok, probe, panic, nhealthy = h.all, h.ok, h.nok, h.probe, h.panic, h.nhealthy

-- pool lists the usable indexes into all, in id order.
local function pool()
  local p = {}
  for i = 1, #all do if ok[i] then p[#p + 1] = i end end
  return p
end

local pick, lease
if probe then
  pick = probe
elseif strategy == 'round_robin' then
  local p = pool()
  pick = p[(redis.call('HINCRBY', st, 'rr:' .. version, 1) - 1) % #p + 1]
elseif strategy == 'weighted_round_robin' then
  -- Walk the precomputed smooth cycle with a shared counter, skipping
  -- instances that are not usable right now.
  local q = vq[2]
  local len = #q / 4
  local n = redis.call('HINCRBY', st, 'rr:' .. version, 1) - 1
  for k = 0, len - 1 do
    local pos = (n + k) % len
    local i = tonumber(string.sub(q, pos * 4 + 1, pos * 4 + 4), 16)
    if ok[i] then pick = i; break end
  end
elseif strategy == 'random' then
  local p = pool()
  pick = p[math.floor(rnd * #p) + 1]
elseif strategy == 'weighted_random' then
  local p, total = pool(), 0
  for _, i in ipairs(p) do total = total + all[i].w end
  local x = rnd * total
  pick = p[#p]
  for _, i in ipairs(p) do
    if x < all[i].w then pick = i; break end
    x = x - all[i].w
  end
elseif strategy == 'least_connections' then
  -- Expired leases belong to callers that never reported: release them.
  local old = redis.call('ZRANGEBYSCORE', leases, '-inf', clock(), 'LIMIT', 0, 64)
  for _, l in ipairs(old) do
    local owner = redis.call('HGET', st, 'l:' .. l)
    if owner then redis.call('HINCRBY', st, 'lc:' .. owner, -1); redis.call('HDEL', st, 'l:' .. l) end
    redis.call('ZREM', leases, l)
  end
  local p, f = pool(), {}
  for k, i in ipairs(p) do f[k] = 'lc:' .. all[i].id end
  local cnt = redis.call('HMGET', st, unpack(f))
  local bestv
  for k, i in ipairs(p) do
    local v = (tonumber(cnt[k]) or 0) / all[i].w
    if bestv == nil or v < bestv then pick, bestv = i, v end
  end
  lease = ARGV[5]
  local secs = tonumber(redis.call('HGET', cfg, '_lease')) or 30
  redis.call('ZADD', leases, clock() + secs * 1000, lease)
  redis.call('HSET', st, 'l:' .. lease, all[pick].id)
  redis.call('HINCRBY', st, 'lc:' .. all[pick].id, 1)
elseif strategy == 'consistent_hash' then
  local p = pool()
  if sticky then
    local bestv
    for _, i in ipairs(p) do
      local u = (hash32(sticky .. ':' .. all[i].id) + 0.5) / 4294967296
      local v = -all[i].w / math.log(u)
      if bestv == nil or v > bestv then pick, bestv = i, v end
    end
  else
    pick = p[math.floor(rnd * #p) + 1]
  end
else
  return redis.error_reply('GRBADSTRATEGY ' .. tostring(strategy))
end
if not pick then return redis.error_reply('GRNOHEALTHY ' .. version) end

local inst = all[pick]
local x = ''
if ARGV[6] == '1' then
  local th
  if bucket then th = b.bp end
  x = cjson.encode({rule = rule, bucket = bucket, threshold = th, sticky = sticky ~= nil, strategy = strategy,
    candidates = #all, healthy = nhealthy, panic = panic, probe = probe ~= nil})
end
return table.concat({version, inst.id, inst.a, inst.m or '', reason, got[3], lease or '', x, vq[3] or '', laneOut}, '\31')
