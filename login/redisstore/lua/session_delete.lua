-- session_delete.lua: delete one session.
--
-- KEYS[1] the session's hash, KEYS[2] the user's index.
-- ARGV[1] session id.
--
-- Returns the deleted session's public fields, nil when it was missing.
local s = load(KEYS[1])
drop(KEYS[1], KEYS[2], ARGV[1])
if not s then
  return false
end
return s
