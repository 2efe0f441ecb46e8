package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/greyrouter/greyrouter/privilege"
)

func testConcurrency(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("concurrent writers of one tenant get consecutive versions", func(t *testing.T) {
		s := open(t)
		const writers, each = 8, 5
		versions := make(chan int64, writers*each)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					name := fmt.Sprintf("w%d-%d", w, i)
					v, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error {
						tx.Describe(name, "")
						return tx.PutRole(t.Context(), role("acme", name))
					})
					if err != nil {
						t.Errorf("writer %s: %v", name, err)
						return
					}
					versions <- v
				}
			})
		}
		// Another tenant writes meanwhile; its versions are its own.
		wg.Go(func() {
			for i := range each {
				if _, err := s.InTx(t.Context(), "globex", func(tx privilege.Tx) error {
					return tx.PutRole(t.Context(), role("globex", fmt.Sprintf("g%d", i)))
				}); err != nil {
					t.Errorf("globex writer: %v", err)
				}
			}
		})
		wg.Wait()
		close(versions)
		var got []int64
		for v := range versions {
			got = append(got, v)
		}
		slices.Sort(got)
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("versions %v: want 1..%d without gaps or duplicates", got, writers*each)
			}
		}
		if len(got) != writers*each {
			t.Fatalf("%d writes committed, want %d", len(got), writers*each)
		}
		revs := revisions(t, s, "acme")
		if len(revs) != writers*each {
			t.Fatalf("%d revisions, want %d", len(revs), writers*each)
		}
		for i, r := range revs {
			if r.Version != int64(writers*each-i) || len(r.Changes) != 1 || r.Changes[0].Key != r.Actor {
				t.Errorf("revision %d = version %d by %s with changes %s", i, r.Version, r.Actor, canon(t, r.Changes))
			}
		}
		if v := version(t, s, "globex"); v != each {
			t.Errorf("globex version = %d, want %d", v, each)
		}
	})
	t.Run("a snapshot is one version's state while writers commit", func(t *testing.T) {
		s := open(t)
		// Every write sets the marker role's description and the marker
		// assignment's subject to the version it produces, so a snapshot
		// mixing two commits is caught.
		const writes = 30
		var wg sync.WaitGroup
		wg.Go(func() {
			for range writes {
				_, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error {
					snap, err := tx.Snapshot(t.Context())
					if err != nil {
						return err
					}
					next := strconv.FormatInt(snap.Version+1, 10)
					r := role("acme", "marker")
					r.Description = next
					if err := tx.PutRole(t.Context(), r); err != nil {
						return err
					}
					for _, a := range snap.Assignments {
						if err := tx.DeleteAssignment(t.Context(), a.Subject, a.Role); err != nil {
							return err
						}
					}
					return tx.PutAssignment(t.Context(), assignment("acme", "v"+next, "marker", at(0)))
				})
				if err != nil {
					t.Errorf("writer: %v", err)
					return
				}
			}
		})
		for range 4 {
			wg.Go(func() {
				for range writes {
					snap, err := s.Snapshot(t.Context(), "acme")
					if err != nil {
						t.Errorf("snapshot: %v", err)
						return
					}
					if snap.Version == 0 {
						continue
					}
					want := strconv.FormatInt(snap.Version, 10)
					if len(snap.Roles) != 1 || snap.Roles[0].Description != want ||
						len(snap.Assignments) != 1 || snap.Assignments[0].Subject != "v"+want {
						t.Errorf("snapshot at version %d holds %s", snap.Version, canon(t, snap))
						return
					}
				}
			})
		}
		wg.Wait()
		if v := version(t, s, "acme"); v != writes {
			t.Errorf("version = %d, want %d", v, writes)
		}
	})
}
