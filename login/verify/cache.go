package verify

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/greyrouter/greyrouter/login"
)

// cacheShards spreads the verified-token cache over independent locks, so
// that verifications on many cores do not queue on one mutex.
const cacheShards = 16

// cacheEntry is a verified token.
type cacheEntry struct {
	claims    *login.AccessClaims // read only once cached
	principal login.Principal
	until     time.Time // exp + leeway: the last moment the token is accepted
}

type cacheShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, *cacheEntry]
	_   [48]byte // keep neighbouring shards' locks off one cache line
}

// tokenCache remembers verified tokens by their exact text: a cached token
// is byte for byte one whose signature was checked, so a hit may skip
// parsing and crypto. It holds at most its size in entries, least recently
// used first out.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].lru, _ = simplelru.NewLRU[string, *cacheEntry](per, nil) // fails only for size <= 0
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%cacheShards]
}

func (c *tokenCache) get(token string) (*cacheEntry, bool) {
	s := c.shard(token)
	s.mu.Lock()
	e, ok := s.lru.Get(token)
	s.mu.Unlock()
	return e, ok
}

func (c *tokenCache) add(token string, e *cacheEntry) {
	s := c.shard(token)
	s.mu.Lock()
	s.lru.Add(token, e)
	s.mu.Unlock()
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	s.lru.Remove(token)
	s.mu.Unlock()
}
