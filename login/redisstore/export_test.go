package redisstore

// KeysOf exposes a subject's keys to the tests: the failures sorted set
// and the lockout hash.
func KeysOf(s Subject) (failures, lockout string) {
	k := s.keys()
	return k[0], k[1]
}
