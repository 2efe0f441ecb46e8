-- tenant.lua: add or remove one tenant without a binding in a projected
-- table, so creating a tenant does not rewrite every service's table.
--
-- KEYS[1] cfg (see decide.lua)
-- ARGV[1] tenant, ARGV[2] '1' to add, '0' to remove.
-- A table that is not projected is left alone (it is built whole, tenant
-- included, when first needed). A tenant with a binding is never touched:
-- bindings come with full projections.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = 't:' .. ARGV[1]
if ARGV[2] == '1' then
  return redis.call('HSETNX', KEYS[1], f, '')
end
if redis.call('HGET', KEYS[1], f) == '' then
  return redis.call('HDEL', KEYS[1], f)
end
return 0
