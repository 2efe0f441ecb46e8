package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func revision(summary string) router.Revision {
	return router.Revision{
		Actor: "alice", At: at(20), Summary: summary,
		Changes: []router.Change{
			{Kind: router.KindBinding, Key: "acme/orders", After: json.RawMessage(`{"mode":"split","percent":12.5}`)},
			{Kind: router.KindVersion, Key: "orders/v0", Before: json.RawMessage(`{"state":"retired"}`)},
		},
	}
}

// addRevisions commits n revisions, one transaction each, and returns them
// as stored.
func addRevisions(t *testing.T, s router.Store, n int) []router.Revision {
	t.Helper()
	out := make([]router.Revision, 0, n)
	for i := range n {
		r := revision(fmt.Sprintf("change %d", i+1))
		write(t, s, func(tx router.Tx) error { return tx.AddRevision(t.Context(), &r) })
		out = append(out, r)
	}
	return out
}

func testRevisions(t *testing.T, open func(t *testing.T) router.Store) {
	t.Run("an empty store's latest revision is zero", func(t *testing.T) {
		n, err := open(t).LatestRevision(t.Context())
		must(t, err, "latest revision")
		if n != 0 {
			t.Fatalf("latest revision = %d, want 0", n)
		}
	})
	t.Run("revisions are numbered from one without gaps", func(t *testing.T) {
		s := open(t)
		revs := addRevisions(t, s, 3)
		for i, r := range revs {
			if r.Number != int64(i+1) {
				t.Errorf("revision %d was numbered %d", i+1, r.Number)
			}
		}
		n, err := s.LatestRevision(t.Context())
		must(t, err, "latest revision")
		if n != 3 {
			t.Errorf("latest revision = %d, want 3", n)
		}
	})
	t.Run("a revision reads back with its changes", func(t *testing.T) {
		s := open(t)
		addRevisions(t, s, 2)
		want := revision("roll back to 1")
		want.RollbackOf = 1
		write(t, s, func(tx router.Tx) error { return tx.AddRevision(t.Context(), &want) })
		got, err := s.GetRevision(t.Context(), 3)
		must(t, err, "get revision")
		same(t, "revision", got, want, normRevision)
		first, err := s.GetRevision(t.Context(), 1)
		must(t, err, "get revision")
		if first.RollbackOf != 0 {
			t.Errorf("revision 1 reads back as a rollback of %d", first.RollbackOf)
		}
	})
	t.Run("a revision without changes reads back without changes", func(t *testing.T) {
		s := open(t)
		want := router.Revision{Actor: "bob", At: at(21), Summary: "nothing", Changes: []router.Change{}}
		write(t, s, func(tx router.Tx) error { return tx.AddRevision(t.Context(), &want) })
		got, err := s.GetRevision(t.Context(), want.Number)
		must(t, err, "get revision")
		same(t, "revision", got, want, normRevision)
	})
	t.Run("a missing revision is not found", func(t *testing.T) {
		s := open(t)
		addRevisions(t, s, 1)
		_, err := s.GetRevision(t.Context(), 2)
		wantCode(t, err, apperr.NotFound, "get missing revision")
	})
	t.Run("revisions are listed newest first, below a number and up to a limit", func(t *testing.T) {
		s := open(t)
		r := addRevisions(t, s, 5)
		for _, c := range []struct {
			before int64
			limit  int
			want   []router.Revision
		}{
			{0, 0, []router.Revision{r[4], r[3], r[2], r[1], r[0]}},
			{0, 2, []router.Revision{r[4], r[3]}},
			{4, 2, []router.Revision{r[2], r[1]}},
			{2, 10, []router.Revision{r[0]}},
			{1, 0, nil},
		} {
			got, err := s.ListRevisions(t.Context(), c.before, c.limit)
			must(t, err, "list revisions")
			sameList(t, fmt.Sprintf("revisions before %d limit %d", c.before, c.limit), got, c.want, normRevision)
		}
	})
	t.Run("revisions after a number are listed oldest first", func(t *testing.T) {
		s := open(t)
		r := addRevisions(t, s, 5)
		for _, c := range []struct {
			after int64
			want  []router.Revision
		}{
			{0, r},
			{3, r[3:]},
			{5, nil},
		} {
			got, err := s.RevisionsAfter(t.Context(), c.after)
			must(t, err, "revisions after")
			sameList(t, fmt.Sprintf("revisions after %d", c.after), got, c.want, normRevision)
		}
	})
	t.Run("revisions added in one transaction are numbered in order", func(t *testing.T) {
		s := open(t)
		addRevisions(t, s, 1)
		a, b := revision("a"), revision("b")
		write(t, s, func(tx router.Tx) error {
			if err := tx.AddRevision(t.Context(), &a); err != nil {
				return err
			}
			return tx.AddRevision(t.Context(), &b)
		})
		if a.Number != 2 || b.Number != 3 {
			t.Fatalf("revisions numbered %d and %d, want 2 and 3", a.Number, b.Number)
		}
	})
}
