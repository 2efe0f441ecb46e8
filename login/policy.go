package login

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// MinPasswordChars is the shortest new password accepted, counted in
// characters (runes) so that non-Latin passwords are not penalised.
const MinPasswordChars = 8

// commonPasswordList holds well-known weak passwords, one lower-case entry
// per line, each at least MinPasswordChars long: shorter ones are already
// rejected by length.
//
//go:embed commonpasswords.txt
var commonPasswordList string

// commonPasswords is the list as a set, built on first use and never
// modified afterwards.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 512)
	for line := range strings.Lines(commonPasswordList) {
		if entry := strings.TrimSpace(line); entry != "" {
			set[entry] = struct{}{}
		}
	}
	return set
})

// CheckNewPassword applies the policy for a password being set (at
// creation, reset or change; never at login, where old passwords must keep
// working). It returns an Unprocessable error whose "password" detail says
// what is wrong, or nil.
func CheckNewPassword(password, username string) error {
	problem := ""
	switch {
	case len(password) > MaxPasswordBytes:
		problem = fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)
	case !utf8.ValidString(password):
		problem = "must be valid UTF-8"
	case utf8.RuneCountInString(password) < MinPasswordChars:
		problem = fmt.Sprintf("must be at least %d characters", MinPasswordChars)
	case username != "" && strings.EqualFold(password, username):
		problem = "must not be the username"
	case isCommonPassword(password):
		problem = "is too common; choose one that is harder to guess"
	default:
		return nil
	}
	return apperr.Fields("invalid password", map[string]string{"password": problem})
}

// isCommonPassword matches the built-in list regardless of case.
func isCommonPassword(password string) bool {
	_, found := commonPasswords()[strings.ToLower(password)]
	return found
}
