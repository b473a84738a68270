// SPDX-License-Identifier: Apache-2.0

// Package cache holds the token cluster's answers for a bounded time, so that
// most requests are decided without a call. Entries are keyed by the
// credential's exact bytes (authn.Lookup.AppendKey: one credential's entry
// never answers for another's), in the VM's own memory; they never outlive the
// credential's own expiry; and they can be evicted by the credential digest
// the revocation feed names.
package cache

import (
	"container/list"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
)

// Policy is how long answers are kept.
type Policy struct {
	MaxEntries  int
	MaxTTL      time.Duration
	NegativeTTL time.Duration
	StaleWindow time.Duration
}

// Entry is a cached answer with its lifetimes.
type Entry struct {
	Answer *authn.Answer
	// FreshUntil is when the answer stops being served normally.
	FreshUntil stamp.Stamp
	// StaleUntil is when the answer stops being served even to routes that
	// accept stale answers while the token cluster is unreachable.
	StaleUntil stamp.Stamp
	// RefreshAt is when the answer should be refreshed at the token cluster
	// (zero: no refresh).
	RefreshAt stamp.Stamp
}

// State says how usable a found entry is.
type State int

// Entry states.
const (
	Missing State = iota
	Fresh
	Stale
)

// LRU is a per-VM cache. It is not safe for concurrent use: a proxy-wasm VM
// is single-threaded.
type LRU struct {
	pol      Policy
	ll       *list.List
	items    map[string]*list.Element
	byDigest map[string]map[string]struct{}
}

type item struct {
	key    string
	digest string
	entry  Entry
}

// New returns an empty cache.
func New(p Policy) *LRU {
	return &LRU{pol: p, ll: list.New(), items: map[string]*list.Element{}, byDigest: map[string]map[string]struct{}{}}
}

// Lifetimes computes the entry for a fresh answer, or ok=false when it must
// not be cached. refresh is the lookup's refresh interval (0: none).
func (p Policy) Lifetimes(a *authn.Answer, now time.Time, refresh time.Duration) (e Entry, ok bool) {
	if p.MaxEntries <= 0 {
		return Entry{}, false
	}
	ttl := p.MaxTTL
	if !a.Active {
		ttl = p.NegativeTTL
	}
	if a.Active && (a.CacheTTL <= 0) {
		return Entry{}, false
	}
	if a.CacheTTL > 0 && a.CacheTTL < ttl {
		ttl = a.CacheTTL
	}
	fresh := now.Add(ttl)
	stale := fresh
	if a.Active {
		stale = fresh.Add(p.StaleWindow)
	}
	if !a.ExpiresAt.IsZero() {
		exp := a.ExpiresAt.Time()
		if exp.Before(fresh) {
			fresh = exp
		}
		if exp.Before(stale) {
			stale = exp
		}
	}
	if !fresh.After(now) {
		return Entry{}, false
	}
	e = Entry{Answer: a, FreshUntil: stamp.Of(fresh), StaleUntil: stamp.Of(stale)}
	if refresh > 0 && a.Active {
		e.RefreshAt = stamp.Of(now.Add(refresh))
	}
	return e, true
}

// Policy returns the cache's lifetime policy.
func (c *LRU) Policy() Policy { return c.pol }

// Get returns the entry for key and how usable it is at now.
func (c *LRU) Get(key string, now time.Time) (Entry, State) {
	return c.found(c.items[key], now)
}

// GetBytes is Get with the key in a byte slice; it does not allocate.
func (c *LRU) GetBytes(key []byte, now time.Time) (Entry, State) {
	return c.found(c.items[string(key)], now)
}

func (c *LRU) found(el *list.Element, now time.Time) (Entry, State) {
	if el == nil {
		return Entry{}, Missing
	}
	it := el.Value.(*item)
	switch {
	case now.Before(it.entry.FreshUntil.Time()):
		c.ll.MoveToFront(el)
		return it.entry, Fresh
	case now.Before(it.entry.StaleUntil.Time()):
		return it.entry, Stale
	}
	c.remove(el)
	return Entry{}, Missing
}

// Put stores an entry under key at now, remembering the credential digest
// for revocation. The least recently used entry goes when the cache is full,
// and up to two least recently used entries that can no longer be served
// (past their stale window) go on every Put, so entries for credentials seen
// once (mostly refusals) do not hold memory until the cache is full.
func (c *LRU) Put(key, digest string, e Entry, now time.Time) {
	if c.pol.MaxEntries <= 0 || key == "" {
		return
	}
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	el := c.ll.PushFront(&item{key: key, digest: digest, entry: e})
	c.items[key] = el
	if digest != "" {
		set := c.byDigest[digest]
		if set == nil {
			set = map[string]struct{}{}
			c.byDigest[digest] = set
		}
		set[key] = struct{}{}
	}
	for c.ll.Len() > c.pol.MaxEntries {
		c.remove(c.ll.Back())
	}
	for i := 0; i < 2; i++ {
		back := c.ll.Back()
		if back == nil || back == el || now.Before(back.Value.(*item).entry.StaleUntil.Time()) {
			break
		}
		c.remove(back)
	}
}

// MarkRefreshed moves an entry's next refresh to at, so that concurrent
// requests do not all refresh it.
func (c *LRU) MarkRefreshed(key string, at time.Time) {
	if el, ok := c.items[key]; ok {
		el.Value.(*item).entry.RefreshAt = stamp.Of(at)
	}
}

// EvictDigest removes every entry of the credential with this digest and
// reports how many there were.
func (c *LRU) EvictDigest(digest string) int {
	set := c.byDigest[digest]
	n := 0
	for key := range set {
		if el, ok := c.items[key]; ok {
			c.remove(el)
			n++
		}
	}
	delete(c.byDigest, digest)
	return n
}

// Clear removes every entry and reports how many there were.
func (c *LRU) Clear() int {
	n := c.ll.Len()
	c.ll.Init()
	clear(c.items)
	clear(c.byDigest)
	return n
}

// Len returns the number of entries.
func (c *LRU) Len() int { return c.ll.Len() }

func (c *LRU) remove(el *list.Element) {
	it := c.ll.Remove(el).(*item)
	delete(c.items, it.key)
	if set := c.byDigest[it.digest]; set != nil {
		delete(set, it.key)
		if len(set) == 0 {
			delete(c.byDigest, it.digest)
		}
	}
}
