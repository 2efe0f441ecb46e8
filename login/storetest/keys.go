package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// key returns a signing key numbered n, created at(10*n) and activating
// five minutes later, with key material that is not valid UTF-8 and
// contains a NUL byte, so that a store treating bytes as text fails.
func key(n int) login.StoredKey {
	return login.StoredKey{
		ID:            fmt.Sprintf("%032x", n),
		Algorithm:     login.AlgEdDSA,
		PublicKey:     []byte{0x30, 0x2a, 0x00, 0xff, byte(n)},
		SealedPrivate: []byte{0x00, 0xfe, 0x80, byte(n), 0x00},
		CreatedAt:     at(10 * n),
		ActivatesAt:   at(10*n + 5),
	}
}

// keysAre checks the stored keys, oldest first, at the precision stores
// keep.
func keysAre(t *testing.T, s Store, what string, want ...login.StoredKey) {
	t.Helper()
	got, err := s.ListSigningKeys(t.Context())
	must(t, err, "list signing keys")
	if got == nil {
		t.Fatalf("%s: keys = nil, want a non-nil list", what)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d keys %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if g, w := normKey(got[i]), normKey(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: key %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

func normKey(k login.StoredKey) login.StoredKey {
	k.CreatedAt, k.ActivatesAt, k.RetiresAt = normTime(k.CreatedAt), normTime(k.ActivatesAt), normTime(k.RetiresAt)
	return k
}

// retired is k retired when next activates.
func retired(k, next login.StoredKey) login.StoredKey {
	k.RetiresAt = next.ActivatesAt
	return k
}

func testKeys(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a store without keys lists none", func(t *testing.T) {
		keysAre(t, open(t), "keys of an empty store")
	})
	t.Run("the first key is added from no previous key and reads back as written", func(t *testing.T) {
		s := open(t)
		k := key(1)
		k.SealedPrivate = []byte("0123456789") // bytes that look like a number
		must(t, s.AddSigningKey(t.Context(), "", k), "add first key")
		keysAre(t, s, "keys", k)
	})
	t.Run("a first key when one exists conflicts and changes nothing", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add first key")
		wantCode(t, s.AddSigningKey(t.Context(), "", key(2)), apperr.Conflict, "add a second first key")
		keysAre(t, s, "keys", key(1))
	})
	t.Run("a rotation adds the next key and retires the previous one when it activates", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add key 1")
		must(t, s.AddSigningKey(t.Context(), key(1).ID, key(2)), "rotate to key 2")
		must(t, s.AddSigningKey(t.Context(), key(2).ID, key(3)), "rotate to key 3")
		keysAre(t, s, "keys after two rotations", retired(key(1), key(2)), retired(key(2), key(3)), key(3))
	})
	t.Run("a rotation from a key that is not the newest conflicts and changes nothing", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add key 1")
		must(t, s.AddSigningKey(t.Context(), key(1).ID, key(2)), "rotate to key 2")
		wantCode(t, s.AddSigningKey(t.Context(), key(1).ID, key(3)), apperr.Conflict, "rotate from the retired key 1")
		wantCode(t, s.AddSigningKey(t.Context(), key(9).ID, key(3)), apperr.Conflict, "rotate from a missing key")
		keysAre(t, s, "keys", retired(key(1), key(2)), key(2))
	})
	t.Run("a rotation from a key in an empty store conflicts", func(t *testing.T) {
		s := open(t)
		wantCode(t, s.AddSigningKey(t.Context(), key(1).ID, key(2)), apperr.Conflict, "rotate from a missing key")
		keysAre(t, s, "keys")
	})
	t.Run("a rotation to a taken id conflicts and leaves the previous key unretired", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add key 1")
		again := key(2)
		again.ID = key(1).ID
		wantCode(t, s.AddSigningKey(t.Context(), key(1).ID, again), apperr.Conflict, "rotate to key 1's id")
		keysAre(t, s, "keys", key(1))
	})
	t.Run("keys stay in the order they were added whatever their times say", func(t *testing.T) {
		s := open(t)
		// Replicas' clocks disagree, or a test clock stands still: the
		// newest key is the one added last.
		k3, k1, k2 := key(3), key(1), key(2)
		k2.CreatedAt = k3.CreatedAt
		must(t, s.AddSigningKey(t.Context(), "", k3), "add key 3")
		must(t, s.AddSigningKey(t.Context(), k3.ID, k1), "rotate to key 1, created earlier")
		must(t, s.AddSigningKey(t.Context(), k1.ID, k2), "rotate to key 2, created with key 3")
		keysAre(t, s, "keys", retired(k3, k1), retired(k1, k2), k2)
		wantCode(t, s.AddSigningKey(t.Context(), k3.ID, key(4)), apperr.Conflict, "rotate from the latest-created key")
	})
	t.Run("of concurrent rotations from the same key exactly one succeeds", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add key 1")
		winner := concurrentRotations(t, s, key(1).ID, 2)
		keysAre(t, s, "keys after concurrent rotations", retired(key(1), winner), winner)
	})
	t.Run("of concurrent first keys exactly one is added", func(t *testing.T) {
		s := open(t)
		winner := concurrentRotations(t, s, "", 2)
		keysAre(t, s, "keys after concurrent first keys", winner)
	})
	t.Run("keys retired before the cutoff are deleted, the newest never", func(t *testing.T) {
		s := open(t)
		must(t, s.AddSigningKey(t.Context(), "", key(1)), "add key 1")
		must(t, s.AddSigningKey(t.Context(), key(1).ID, key(2)), "rotate to key 2")
		must(t, s.AddSigningKey(t.Context(), key(2).ID, key(3)), "rotate to key 3")
		for _, c := range []struct {
			cutoff time.Time
			n      int
			left   []login.StoredKey
		}{
			{key(2).ActivatesAt, 0, []login.StoredKey{retired(key(1), key(2)), retired(key(2), key(3)), key(3)}},
			{key(2).ActivatesAt.Add(time.Microsecond), 1, []login.StoredKey{retired(key(2), key(3)), key(3)}},
			{at(100_000), 1, []login.StoredKey{key(3)}},
			{at(100_000), 0, []login.StoredKey{key(3)}},
		} {
			n, err := s.DeleteSigningKeys(t.Context(), c.cutoff)
			must(t, err, "delete signing keys")
			if n != c.n {
				t.Errorf("delete keys retired before %v = %d, want %d", c.cutoff, n, c.n)
			}
			keysAre(t, s, fmt.Sprintf("keys left after deleting those retired before %v", c.cutoff), c.left...)
		}
	})
}

// concurrentRotations runs eight AddSigningKey calls from previous at once,
// with keys numbered first to first+7, checks that exactly one succeeded
// and the others conflicted, and returns the key that was added.
func concurrentRotations(t *testing.T, s Store, previous string, first int) login.StoredKey {
	t.Helper()
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.AddSigningKey(t.Context(), previous, key(first+i))
		})
	}
	close(start)
	wg.Wait()
	var winners []login.StoredKey
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, key(first+i))
		case !apperr.Is(err, apperr.Conflict):
			t.Errorf("rotation %d: %v, want success or a conflict", i, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent rotations from %q succeeded, want exactly 1", len(winners), n, previous)
	}
	return winners[0]
}
