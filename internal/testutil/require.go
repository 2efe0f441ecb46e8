package testutil

import (
	"os"
	"runtime/debug"
	"testing"
)

// requireOrSkip stops a test whose external service (a server binary, a
// database) is unavailable. On a developer machine the test is skipped so that
// `go test ./...` stays green without Redis or PostgreSQL installed; when
// GREYROUTER_REQUIRE_SERVICES=1 (set by scripts/test.sh in CI) it fails
// instead, so a broken CI image cannot silently skip the integration tests.
func requireOrSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("GREYROUTER_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format+" (GREYROUTER_REQUIRE_SERVICES=1, so this is a failure)", args...)
		return
	}
	t.Skipf(format+" (set GREYROUTER_REQUIRE_SERVICES=1 to make this a failure)", args...)
}

// RaceEnabled reports whether the running binary was built with -race
// (tests skip what a third-party race would fail; see the Nacos tests).
func RaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
