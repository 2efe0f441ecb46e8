package storetest

import (
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func testVersions(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("a version reads back as it was put", func(t *testing.T) {
		s := open(t)
		want := version("orders", "v1")
		want.State = router.VersionDeprecated
		write(t, s, func(tx router.Tx) error { return tx.PutVersion(t.Context(), want) })
		got, err := s.GetVersion(t.Context(), "orders", "v1")
		must(t, err, "get version")
		same(t, "version", got, want, normVersion)
	})
	t.Run("putting a version again replaces it", func(t *testing.T) {
		s := open(t)
		second := version("orders", "v1")
		second.State, second.Description = router.VersionRetired, ""
		write(t, s, func(tx router.Tx) error { return tx.PutVersion(t.Context(), version("orders", "v1")) })
		write(t, s, func(tx router.Tx) error { return tx.PutVersion(t.Context(), second) })
		got, err := s.GetVersion(t.Context(), "orders", "v1")
		must(t, err, "get version")
		same(t, "version", got, second, normVersion)
	})
	t.Run("versions are listed by name for their service only", func(t *testing.T) {
		s := open(t)
		want := []router.Version{version("orders", "v1"), version("orders", "v2"), version("orders", "v3")}
		write(t, s, func(tx router.Tx) error {
			for _, v := range []router.Version{want[2], version("payments", "v1"), want[0], want[1]} {
				if err := tx.PutVersion(t.Context(), v); err != nil {
					return err
				}
			}
			return nil
		})
		got, err := s.ListVersions(t.Context(), "orders")
		must(t, err, "list versions")
		sameList(t, "versions of orders", got, want, normVersion)
		got, err = s.ListVersions(t.Context(), "unknown")
		must(t, err, "list versions of an unknown service")
		sameList(t, "versions of an unknown service", got, nil, normVersion)
	})
	t.Run("a version is found only under its own service", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error { return tx.PutVersion(t.Context(), version("orders", "v1")) })
		_, err := s.GetVersion(t.Context(), "payments", "v1")
		wantCode(t, err, apperr.NotFound, "get version under another service")
		_, err = s.GetVersion(t.Context(), "orders", "v2")
		wantCode(t, err, apperr.NotFound, "get missing version")
	})
	t.Run("a deleted version is gone and cannot be deleted again", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx router.Tx) error {
			if err := tx.PutVersion(t.Context(), version("orders", "v1")); err != nil {
				return err
			}
			return tx.PutVersion(t.Context(), version("orders", "v2"))
		})
		write(t, s, func(tx router.Tx) error { return tx.DeleteVersion(t.Context(), "orders", "v1") })
		_, err := s.GetVersion(t.Context(), "orders", "v1")
		wantCode(t, err, apperr.NotFound, "get deleted version")
		if _, err := s.GetVersion(t.Context(), "orders", "v2"); err != nil {
			t.Fatalf("deleting v1 also affected v2: %v", err)
		}
		err = s.InTx(t.Context(), func(tx router.Tx) error { return tx.DeleteVersion(t.Context(), "orders", "v1") })
		wantCode(t, err, apperr.NotFound, "delete missing version")
	})
}
