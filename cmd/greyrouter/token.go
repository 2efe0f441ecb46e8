package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/greyrouter/greyrouter/login"
)

// adminToken returns the break-glass bootstrap token: the configured one,
// or the one stored in the data directory, or a new one, generated, stored
// (mode 0600) and printed once. "" when disabled.
func adminToken(c config, stdout io.Writer) (string, error) {
	if c.DisableBootstrap {
		return "", nil
	}
	if c.AdminToken != "" {
		if len(c.AdminToken) < 16 {
			return "", fmt.Errorf("%w: GREYROUTER_ADMIN_TOKEN must be at least 16 characters", errUsage)
		}
		return c.AdminToken, nil
	}
	tok, created, err := storedSecret(c.DataDir, "admin-token", func() string {
		buf := make([]byte, 32)
		_, _ = rand.Read(buf)
		return hex.EncodeToString(buf)
	})
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "\nGenerated the break-glass admin token (shown once; stored in %s):\n\n    %s\n\n",
			filepath.Join(c.DataDir, "admin-token"), tok)
	}
	return tok, nil
}

// keyEncryptionKey returns the key that seals signing keys in the
// database. With an external database it must be configured: replicas
// sharing the database must share the key, and a key generated into one
// replica's data directory would lock the others out.
func keyEncryptionKey(c config) ([]byte, error) {
	if c.KeyEncryptionKey != "" {
		k, err := login.ParseKEK(c.KeyEncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("%w: GREYROUTER_KEY_ENCRYPTION_KEY: %v", errUsage, err)
		}
		return k, nil
	}
	if c.DatabaseURL != "" {
		return nil, fmt.Errorf("%w: GREYROUTER_KEY_ENCRYPTION_KEY is required with --database-url (generate one with: head -c 32 /dev/urandom | base64)", errUsage)
	}
	s, _, err := storedSecret(c.DataDir, "key-encryption-key", login.NewKEK)
	if err != nil {
		return nil, fmt.Errorf("key encryption key: %w", err)
	}
	return login.ParseKEK(s)
}

// storedSecret returns the secret in <dir>/<name>, creating it (mode 0600,
// directory 0700) with generate when missing or empty.
func storedSecret(dir, name string, generate func() string) (secret string, created bool, err error) {
	path := filepath.Join(dir, name)
	if fileExists(path) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", path, err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, false, nil
		}
	}
	s := generate()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store %s: %w", path, err)
	}
	return s, true, nil
}
