-- revocation_publish.lua: append revocation events to the stream, trim
-- it, and notify subscribers, in one atomic step.
--
-- KEYS[1] the revocation stream.
-- ARGV[1] the notification channel, ARGV[2] the trim horizon: the stream
-- id (ms since the epoch) before which entries are dropped,
-- ARGV[3..] one JSON-encoded event each.
--
-- Entry ids are '*' (Redis time of insertion), so MINID trims by age of
-- insertion, not by the events' own expiry; verifiers drop events whose
-- expires_at has passed themselves. The trim runs before the appends, so
-- the new events survive even a caller clock far ahead of Redis.
--
-- With no events the stream is still created (an entry added and deleted)
-- so that its existence marks "published since Redis last lost data".
--
-- Returns the id of the last appended entry ('' when none) and publishes it.
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
if #ARGV < 3 then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    local id = redis.call('XADD', KEYS[1], '*', 'marker', '1')
    redis.call('XDEL', KEYS[1], id)
  end
  return ''
end
local id
for i = 3, #ARGV do
  id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[i])
end
redis.call('PUBLISH', ARGV[1], id)
return id
