package router

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
)

// snapshotFile is what SnapshotFile holds: the snapshot as the router sent
// it, and when the router last vouched for it.
type snapshotFile struct {
	ConfirmedAt time.Time       `json:"confirmed_at"`
	Snapshot    json.RawMessage `json:"snapshot"`
}

// writeSnapshotFile replaces the file atomically (a temporary file in the
// same directory, synced, then renamed), so that a crash mid-write leaves
// the previous snapshot in place.
func writeSnapshotFile(path string, confirmed time.Time, raw []byte) error {
	data, err := json.Marshal(snapshotFile{ConfirmedAt: confirmed.UTC(), Snapshot: raw})
	if err != nil {
		return fmt.Errorf("encode snapshot file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write snapshot file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write snapshot file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write snapshot file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write snapshot file: %w", err)
	}
	return nil
}

// loadFile installs the snapshot kept in SnapshotFile, if there is one;
// staleness counts from when the router last vouched for it.
func (l *local) loadFile() error {
	data, err := os.ReadFile(l.cfg.SnapshotFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var f snapshotFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("decode snapshot file: %w", err)
	}
	var snap routing.RoutingSnapshot
	if err := json.Unmarshal(f.Snapshot, &snap); err != nil {
		return fmt.Errorf("decode snapshot in file: %w", err)
	}
	t, err := compile(&snap)
	if err != nil {
		return err
	}
	// Not install: the file need not be written back.
	l.table.Store(t)
	l.confirm(f.ConfirmedAt)
	return nil
}
