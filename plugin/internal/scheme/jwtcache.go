// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"
	"sync"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jose"
)

// Bounds of the verified-token cache: entries and the bytes of the tokens it
// holds, whichever is reached first.
const (
	jwtCacheSize  = 4096
	jwtCacheBytes = 2 << 20
)

// jwtCache remembers tokens whose signature and claims verified, keyed by the
// token itself: a lookup compares the whole token, so one token's entry can
// never answer for another, and a hit costs a map lookup instead of a digest.
// An entry is used only while its key is still in its provider's key set, and
// its time window is checked on every hit. Entries are evicted first in,
// first out.
type jwtCache struct {
	mu    sync.Mutex
	items map[string]*jwtEntry
	ring  []string // insertion order; head is the oldest
	head  int
	n     int
	bytes int
}

type jwtEntry struct {
	id       authn.Identity
	provider int
	key      *jose.Key
	times    jose.Times
}

func newJWTCache() *jwtCache {
	return &jwtCache{items: make(map[string]*jwtEntry, 256), ring: make([]string, jwtCacheSize)}
}

// get returns the entry of a remembered token, or nil.
func (c *jwtCache) get(tok string) *jwtEntry {
	c.mu.Lock()
	e := c.items[tok]
	c.mu.Unlock()
	return e
}

// identity returns a copy of the entry's identity the caller may keep and
// change, in r's own storage.
func (e *jwtEntry) identity(r authn.Request) *authn.Identity {
	return authn.IdentityCopy(r, e.id)
}

func (c *jwtCache) put(tok string, e jwtEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[tok]; ok || len(tok) > jwtCacheBytes/16 {
		return
	}
	for c.n > 0 && (c.n == len(c.ring) || c.bytes+len(tok) > jwtCacheBytes) {
		old := c.ring[c.head]
		c.ring[c.head] = ""
		delete(c.items, old)
		c.bytes -= len(old)
		c.head = (c.head + 1) % len(c.ring)
		c.n--
	}
	tok = strings.Clone(tok) // it points into the request's headers, which are reused
	e.id.ScopeText()         // joined once, for every hit
	c.items[tok] = &e
	c.bytes += len(tok)
	c.ring[(c.head+c.n)%len(c.ring)] = tok
	c.n++
}
