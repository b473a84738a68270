// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// jwtCacheSize bounds the number of verified tokens a JWT verifier remembers.
const jwtCacheSize = 4096

// jwtCache remembers tokens whose signature and claims verified, keyed by the
// SHA-256 of the token, so a repeated token skips signature checking and
// claim decoding. The time claims are checked again on every hit. Entries
// are evicted first in, first out.
type jwtCache struct {
	mu    sync.Mutex
	items map[[32]byte]jwtEntry
	order [][32]byte
	next  int
}

type jwtEntry struct {
	id       authn.Identity
	exp, nbf time.Time
}

func newJWTCache() *jwtCache {
	return &jwtCache{items: make(map[[32]byte]jwtEntry, jwtCacheSize), order: make([][32]byte, 0, jwtCacheSize)}
}

// get returns the identity of a remembered token that is valid at now.
func (c *jwtCache) get(key [32]byte, now time.Time, leeway time.Duration) (*authn.Identity, bool) {
	c.mu.Lock()
	e, ok := c.items[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.exp.Add(leeway)) || (!e.nbf.IsZero() && now.Add(leeway).Before(e.nbf)) {
		return nil, false
	}
	id := e.id
	id.Scopes = append([]string(nil), e.id.Scopes...)
	return &id, true
}

func (c *jwtCache) put(key [32]byte, id *authn.Identity, exp, nbf time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	if len(c.order) < jwtCacheSize {
		c.order = append(c.order, key)
	} else {
		delete(c.items, c.order[c.next])
		c.order[c.next] = key
		c.next = (c.next + 1) % jwtCacheSize
	}
	c.items[key] = jwtEntry{id: *id, exp: exp, nbf: nbf}
}

func tokenKey(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }
