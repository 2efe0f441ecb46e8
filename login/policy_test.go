package login

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

func TestCheckNewPassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		username string
		reason   string // a fragment of the "password" detail, "" when accepted
	}{
		{"a long unusual passphrase is accepted", "correct horse battery staple", "alice", ""},
		{"exactly eight characters are enough", "x7#kQ2!m", "alice", ""},
		{"eight non-Latin characters are enough though they take more bytes", "пароль-ё", "alice", ""},
		{"the maximum length is accepted", strings.Repeat("a", MaxPasswordBytes-3) + "xyz", "alice", ""},
		{"a password containing the username is accepted", "alice-in-wonderland-42", "alice", ""},
		{"an empty username is never matched", "k9$wzz!pl", "", ""},
		{"an empty password is rejected", "", "alice", "at least 8 characters"},
		{"seven characters are rejected", "x7#kQ2!", "alice", "at least 8 characters"},
		{"seven characters are rejected even when they take eight bytes", "пароль!", "alice", "at least 8 characters"},
		{"one byte over the maximum is rejected", strings.Repeat("a", MaxPasswordBytes+1), "alice", "at most 1024 bytes"},
		{"invalid UTF-8 is rejected", "abc\xffdefghij", "alice", "valid UTF-8"},
		{"the username is rejected", "alice.smith", "alice.smith", "username"},
		{"the username in other case is rejected", "Alice.Smith", "alice.smith", "username"},
		{"a common password is rejected", "password", "alice", "too common"},
		{"a common password in other case is rejected", "PassWord123", "alice", "too common"},
		{"a keyboard walk is rejected", "1qaz2wsx", "alice", "too common"},
		{"a season and year is rejected", "Summer2024!", "alice", "too common"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNewPassword(tt.password, tt.username)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("unexpected error %v (%v)", err, apperr.DetailsOf(err))
				}
				return
			}
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("error = %v; want unprocessable", err)
			}
			if got := apperr.DetailsOf(err)["password"]; !strings.Contains(got, tt.reason) {
				t.Fatalf("password detail %q does not say %q", got, tt.reason)
			}
		})
	}
}

func TestCommonPasswordListIsWellFormed(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswordList, "\n"), "\n")
	if n := len(lines); n < 250 || n > 500 {
		t.Fatalf("the list has %d entries; want a few hundred", n)
	}
	seen := make(map[string]bool, len(lines))
	for i, entry := range lines {
		switch {
		case entry != strings.TrimSpace(entry) || entry == "":
			t.Errorf("line %d %q is blank or has surrounding space", i+1, entry)
		case entry != strings.ToLower(entry):
			t.Errorf("line %d %q is not lower-case", i+1, entry)
		case utf8.RuneCountInString(entry) < MinPasswordChars:
			t.Errorf("line %d %q is shorter than %d characters, which length already rejects", i+1, entry, MinPasswordChars)
		case seen[entry]:
			t.Errorf("line %d %q is a duplicate", i+1, entry)
		}
		seen[entry] = true
	}
	if len(commonPasswords()) != len(seen) {
		t.Fatalf("the set holds %d entries, the file %d", len(commonPasswords()), len(seen))
	}
}
