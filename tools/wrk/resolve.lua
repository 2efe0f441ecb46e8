-- resolve.lua: wrk script for POST /api/v1/resolve (see BENCHMARKS.md).
--
--   GREYROUTER_ADMIN_TOKEN=... wrk -t2 -c50 -d10s --latency \
--     -s tools/wrk/resolve.lua http://127.0.0.1:8080/api/v1/resolve
--
-- Every request is a POST with a JSON body naming a tenant (cycling through
-- WRK_TENANTS, default the --demo tenants acme,globex,initech), the service
-- WRK_SERVICE (default orders) and a fresh sticky key, so splits hash a
-- different user each time. The bearer token comes from the environment,
-- never from the command line.

local token = os.getenv("GREYROUTER_ADMIN_TOKEN") or ""
local service = os.getenv("WRK_SERVICE") or "orders"
local tenants = {}
for t in string.gmatch(os.getenv("WRK_TENANTS") or "acme,globex,initech", "[^,]+") do
  tenants[#tenants + 1] = t
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

-- Each wrk thread has its own Lua state; setup numbers them so that their
-- keys do not overlap.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local n = 0
function init(args)
  n = (thread_id or 1) * 1000000000
end

function request()
  n = n + 1
  local body = '{"tenant":"' .. tenants[n % #tenants + 1] .. '","service":"' .. service ..
    '","key":"user-' .. n .. '"}'
  return wrk.format(nil, nil, nil, body)
end
