package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// adminToken returns the configured admin token, or the one stored in the
// data directory, or generates, stores (mode 0600) and prints a new one.
// It is the break-glass credential until login exists.
func adminToken(c config, stdout io.Writer) (string, error) {
	if c.AdminToken != "" {
		if len(c.AdminToken) < 16 {
			return "", fmt.Errorf("%w: GREYROUTER_ADMIN_TOKEN must be at least 16 characters", errUsage)
		}
		return c.AdminToken, nil
	}
	path := filepath.Join(c.DataDir, "admin-token")
	if fileExists(path) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read admin token: %w", err)
		}
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	tok := hex.EncodeToString(buf)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store admin token: %w", err)
	}
	fmt.Fprintf(stdout, "\nGenerated admin token (shown once; stored in %s):\n\n    %s\n\n", path, tok)
	return tok, nil
}
