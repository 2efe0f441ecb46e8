-- session_list.lua: list the sessions of one user, or delete them all.
--
-- KEYS[1] the user's index, KEYS[2] the user's session key prefix
-- ('lg:{u:<user id>}:s:'). As in session_create.lua, session keys are
-- built as KEYS[2] .. id, which is Cluster-safe because the prefix holds
-- the user's hash tag: every such key is in the slot of KEYS[1].
-- ARGV[1] operation: list | purge, ARGV[2] now in ms (list).
--
-- list returns the public fields of the live sessions, oldest first, and
-- removes index entries of missing sessions and sessions dead at now.
-- purge deletes every session in the index and the index, and returns the
-- public fields of the sessions it deleted, oldest first.
local op = ARGV[1]

if op == 'list' then
  local reply = {}
  for _, e in ipairs(sweep(KEYS[1], KEYS[2], tonumber(ARGV[2]))) do
    reply[#reply + 1] = e[3]
  end
  return reply
end
if op ~= 'purge' then
  return redis.error_reply('ERR session_list: unknown operation ' .. tostring(op))
end

local reply = {}
for _, e in ipairs(sweep(KEYS[1], KEYS[2], nil)) do
  redis.call('DEL', e[1])
  reply[#reply + 1] = e[3]
end
redis.call('DEL', KEYS[1])
return reply
