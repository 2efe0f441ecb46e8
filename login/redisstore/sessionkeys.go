package redisstore

import (
	"regexp"
	"strconv"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// userIDRE is the shape of a user id (login.User.Validate and the opaque
// credentials use the same). Checking it keeps braces, and with them a
// second hash tag, out of every session key.
var userIDRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// userKeys are the Redis keys of one user's sessions. They share the hash
// tag {u:<user id>}, so one script may touch them all on Cluster.
type userKeys struct {
	index  string // sorted set: session id -> creation time in ms
	prefix string // prefix + session id is a session hash
}

func keysOfUser(userID string) userKeys {
	p := "lg:{u:" + userID + "}:"
	return userKeys{index: p + "idx", prefix: p + "s:"}
}

func (k userKeys) session(sid string) string { return k.prefix + sid }

// sessionFields is the number of public fields a script returns per
// session, in the order of FIELDS in lua/session_lib.lua.
const sessionFields = 14

// encodeSession returns the public fields of s in FIELDS order, times as
// Unix milliseconds.
func encodeSession(s login.Session) []any {
	return []any{
		s.ID, s.Tenant, s.UserID, s.Username, flag(s.Platform), flag(s.Admin),
		s.Generation, s.IP, s.UserAgent, s.CSRFToken,
		s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(), s.IdleExpiresAt.UnixMilli(), s.ExpiresAt.UnixMilli(),
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// decodeSession turns a script's reply for one session back into a
// Session; times come back in UTC with millisecond precision.
func decodeSession(v any) (login.Session, error) {
	f, ok := v.([]any)
	if !ok || len(f) != sessionFields {
		return login.Session{}, apperr.New(apperr.Internal, "decode session: unexpected reply %T of %d fields", v, len(f))
	}
	str := func(i int) string { s, _ := f[i].(string); return s }
	var nums [5]int64
	for i, idx := range []int{6, 10, 11, 12, 13} {
		n, err := strconv.ParseInt(str(idx), 10, 64)
		if err != nil {
			return login.Session{}, apperr.Wrap(apperr.Internal, err, "decode session "+str(0))
		}
		nums[i] = n
	}
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	return login.Session{
		ID: str(0), Tenant: str(1), UserID: str(2), Username: str(3),
		Platform: str(4) == "1", Admin: str(5) == "1", Generation: nums[0],
		IP: str(7), UserAgent: str(8), CSRFToken: str(9),
		CreatedAt: at(nums[1]), LastSeenAt: at(nums[2]), IdleExpiresAt: at(nums[3]), ExpiresAt: at(nums[4]),
	}, nil
}

// decodeSessions decodes a list of sessions.
func decodeSessions(v any) ([]login.Session, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, apperr.New(apperr.Internal, "decode sessions: unexpected reply %T", v)
	}
	out := make([]login.Session, 0, len(list))
	for _, e := range list {
		s, err := decodeSession(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// validNewSession checks what CreateSession stores: ids that fit the keys,
// both hashes, and expiries after the creation time.
func validNewSession(s login.Session, secretHash, refreshHash string, limit int) error {
	const doing = "create session"
	switch {
	case !userIDRE.MatchString(s.UserID):
		return apperr.New(apperr.Invalid, "%s: invalid user id %q", doing, s.UserID)
	case !login.ValidSessionID(s.ID):
		return apperr.New(apperr.Invalid, "%s: invalid session id %q", doing, s.ID)
	case secretHash == "" || refreshHash == "":
		return apperr.New(apperr.Invalid, "%s: empty secret or refresh hash", doing)
	case secretHash == refreshHash:
		return apperr.New(apperr.Invalid, "%s: secret and refresh hash are equal", doing)
	case s.CreatedAt.IsZero():
		return apperr.New(apperr.Invalid, "%s: no creation time", doing)
	case !s.IdleExpiresAt.After(s.CreatedAt) || !s.ExpiresAt.After(s.CreatedAt):
		return apperr.New(apperr.Invalid, "%s: expiries must be after the creation time", doing)
	case limit < 0:
		return apperr.New(apperr.Invalid, "%s: negative session limit %d", doing, limit)
	}
	return nil
}

// known reports whether a session lookup can name a stored session at
// all; lookups of malformed ids are ErrSessionNotFound without a round
// trip, as they come from credentials the caller could not vouch for.
func known(userID, sid string) bool {
	return userIDRE.MatchString(userID) && login.ValidSessionID(sid)
}
