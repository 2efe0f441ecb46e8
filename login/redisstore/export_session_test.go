package redisstore

// SessionKeysOf exposes a session's keys to the tests: its hash and the
// user's index.
func SessionKeysOf(userID, sid string) (session, index string) {
	k := keysOfUser(userID)
	return k.session(sid), k.index
}
