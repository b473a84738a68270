// SPDX-License-Identifier: Apache-2.0

package bbolt

import (
	"errors"
	"slices"
	"sync"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// maxCachedRecords bounds the decoded records the store keeps (and, apart,
// the lookup keys that point at them); past it an arbitrary entry is dropped.
const maxCachedRecords = 100_000

// recordCache keeps decoded records so that a verification reads no bbolt
// transaction and decodes no JSON once its records are warm.
//
// It is coherent because this process is the only writer: bbolt locks the
// file, and every record write goes through Put or Delete, which drop the
// whole cache after their transaction, before they return. A reader that
// missed fills the cache only if no write ended since it started reading
// (gen unchanged), so a value read before a write can never be cached after
// it: once a revocation's Put returns, every verification sees it.
type recordCache struct {
	mu    sync.RWMutex
	gen   uint64
	byID  map[cacheKey]store.Record
	byKey map[cacheKey]string // lookup key → record id
}

type cacheKey struct {
	c  store.Collection
	id string
}

func newRecordCache() *recordCache {
	return &recordCache{byID: map[cacheKey]store.Record{}, byKey: map[cacheKey]string{}}
}

// get returns a copy of the cached record c/id.
func (rc *recordCache) get(c store.Collection, id string) (store.Record, bool) {
	rc.mu.RLock()
	rec, ok := rc.byID[cacheKey{c, id}]
	rc.mu.RUnlock()
	return clone(rec), ok
}

// lookup returns a copy of the cached record of c with lookup key key.
func (rc *recordCache) lookup(c store.Collection, key string) (store.Record, bool) {
	rc.mu.RLock()
	id, ok := rc.byKey[cacheKey{c, key}]
	rec, found := rc.byID[cacheKey{c, id}]
	rc.mu.RUnlock()
	return clone(rec), ok && found
}

// lookupOwned returns copies of the cached record of c with lookup key key
// and of its tenant, read under one lock; ok is false unless both (or the
// record naming no tenant) are cached.
func (rc *recordCache) lookupOwned(c store.Collection, key string) (store.Record, store.Owner, bool) {
	rc.mu.RLock()
	id, ok := rc.byKey[cacheKey{c, key}]
	rec, found := rc.byID[cacheKey{c, id}]
	var owner store.Owner
	if ok && found && rec.Tenant != "" {
		owner.Record, owner.Found = rc.byID[cacheKey{store.Tenants, rec.Tenant}]
		found = owner.Found
	}
	rc.mu.RUnlock()
	if !ok || !found {
		return store.Record{}, store.Owner{}, false
	}
	owner.Record = clone(owner.Record)
	return clone(rec), owner, true
}

// errMiss ends a read of the cache that needs a record it does not hold.
var errMiss = errors.New("bbolt: not cached")

// follow answers r (without its token) from the cache under one lock; ok
// is false unless every record it reads is cached.
func (rc *recordCache) follow(r *store.Read) ([]store.Answer, bool) {
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	answers, err := r.Follow(nil, func(dst []store.Answer, refs []store.Ref) ([]store.Answer, error) {
		for _, ref := range refs {
			id, ok := ref.ID, true
			if id == "" {
				id, ok = rc.byKey[cacheKey{ref.C, ref.Key}]
			}
			rec, found := rc.byID[cacheKey{ref.C, id}]
			if !ok || !found {
				return nil, errMiss
			}
			dst = append(dst, store.Answer{Ref: ref, ID: id, Record: clone(rec)})
		}
		return dst, nil
	})
	return answers, err == nil
}

// generation returns the write generation a reader starts from.
func (rc *recordCache) generation() uint64 {
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	return rc.gen
}

// put caches rec (found under lookup key key, when not empty) unless a
// write ended since generation gen was read.
func (rc *recordCache) put(gen uint64, c store.Collection, key string, rec store.Record) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gen != gen {
		return
	}
	evictOne(rc.byID)
	rc.byID[cacheKey{c, rec.ID}] = clone(rec)
	if key != "" {
		evictOne(rc.byKey)
		rc.byKey[cacheKey{c, key}] = rec.ID
	}
}

// invalidate drops every cached record; a record write calls it once its
// transaction has ended.
func (rc *recordCache) invalidate() {
	rc.mu.Lock()
	rc.gen++
	clear(rc.byID)
	clear(rc.byKey)
	rc.mu.Unlock()
}

func evictOne[V any](m map[cacheKey]V) {
	if len(m) < maxCachedRecords {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

// clone copies rec's slices, so that callers never share them with the cache.
func clone(rec store.Record) store.Record {
	rec.Scopes = slices.Clone(rec.Scopes)
	rec.RedirectOrigins = slices.Clone(rec.RedirectOrigins)
	rec.Keys = slices.Clone(rec.Keys)
	return rec
}
