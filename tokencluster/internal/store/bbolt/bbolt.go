// SPDX-License-Identifier: Apache-2.0

// Package bbolt is the embedded Store backend: one bbolt file, fsync on every
// write transaction, so credentials and unexpired tokens survive a restart.
package bbolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

var (
	bucketTokens      = []byte("tokens")
	bucketRevocations = []byte("revocations")
	// bucketFeed holds the revocation feed's epoch (keyEpoch), made with
	// the file: a new file (a reset) starts a new epoch. It is a bucket of
	// its own so that every key of bucketRevocations is a sequence.
	bucketFeed = []byte("revocation-feed")
	keyEpoch   = []byte("epoch")
)

func recBucket(c store.Collection) []byte { return []byte("rec:" + string(c)) }
func keyBucket(c store.Collection) []byte { return []byte("key:" + string(c)) }

// Store is a bbolt-backed store.Store.
type Store struct {
	db      *bolt.DB
	records *recordCache
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the bbolt file at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bbolt: create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("bbolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		names := [][]byte{bucketTokens, bucketRevocations, bucketFeed}
		for _, c := range store.Collections {
			names = append(names, recBucket(c), keyBucket(c))
		}
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketFeed); b.Get(keyEpoch) == nil {
			return b.Put(keyEpoch, []byte(store.NewEpoch()))
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bbolt: create buckets: %w", err)
	}
	return &Store{db: db, records: newRecordCache()}, nil
}

func buckets(tx *bolt.Tx, c store.Collection) (recs, keys *bolt.Bucket, err error) {
	recs, keys = tx.Bucket(recBucket(c)), tx.Bucket(keyBucket(c))
	if recs == nil || keys == nil {
		return nil, nil, fmt.Errorf("bbolt: unknown collection %q: %w", c, store.ErrInvalid)
	}
	return recs, keys, nil
}

// Put implements store.Store.
func (s *Store) Put(_ context.Context, c store.Collection, rec store.Record) error {
	if err := store.Validate(c, rec); err != nil {
		return err
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("bbolt: encode record: %w", err)
	}
	defer s.records.invalidate()
	return s.db.Update(func(tx *bolt.Tx) error {
		recs, keys, err := buckets(tx, c)
		if err != nil {
			return err
		}
		if old := recs.Get([]byte(rec.ID)); old != nil {
			var prev store.Record
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("bbolt: decode record: %w", err)
			}
			for _, k := range prev.Keys {
				if err := keys.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		for _, k := range rec.Keys {
			if owner := keys.Get([]byte(k)); owner != nil && string(owner) != rec.ID {
				return fmt.Errorf("bbolt: put %s/%s: %w", c, rec.ID, store.ErrConflict)
			}
			if err := keys.Put([]byte(k), []byte(rec.ID)); err != nil {
				return err
			}
		}
		return recs.Put([]byte(rec.ID), val)
	})
}

// Get implements store.Store. A warm record is answered from the cache
// (see recordCache) without a transaction.
func (s *Store) Get(_ context.Context, c store.Collection, id string) (store.Record, error) {
	if rec, ok := s.records.get(c, id); ok {
		return rec, nil
	}
	gen := s.records.generation()
	var rec store.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		recs, _, err := buckets(tx, c)
		if err != nil {
			return err
		}
		return decode(recs.Get([]byte(id)), &rec)
	})
	if err == nil {
		s.records.put(gen, c, "", rec)
	}
	return rec, err
}

// Lookup implements store.Store, cached as Get is.
func (s *Store) Lookup(_ context.Context, c store.Collection, key string) (store.Record, error) {
	if rec, ok := s.records.lookup(c, key); ok {
		return rec, nil
	}
	gen := s.records.generation()
	var rec store.Record
	err := s.db.View(func(tx *bolt.Tx) error { return lookupTx(tx, c, key, &rec) })
	if err == nil {
		s.records.put(gen, c, key, rec)
	}
	return rec, err
}

// lookupTx reads the record of c under lookup key key in tx.
func lookupTx(tx *bolt.Tx, c store.Collection, key string, rec *store.Record) error {
	recs, keys, err := buckets(tx, c)
	if err != nil {
		return err
	}
	id := keys.Get([]byte(key))
	if id == nil {
		return store.ErrNotFound
	}
	return decode(recs.Get(id), rec)
}

// LookupOwned implements store.OwnedLookup: one cache access when record
// and tenant are warm, else one transaction that reads both.
func (s *Store) LookupOwned(_ context.Context, c store.Collection, key string) (store.Record, store.Owner, error) {
	if rec, owner, ok := s.records.lookupOwned(c, key); ok {
		return rec, owner, nil
	}
	gen := s.records.generation()
	var rec store.Record
	var owner store.Owner
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := lookupTx(tx, c, key, &rec); err != nil || rec.Tenant == "" {
			return err
		}
		tenants, _, err := buckets(tx, store.Tenants)
		if err == nil {
			err = decode(tenants.Get([]byte(rec.Tenant)), &owner.Record)
		}
		switch {
		case err == nil:
			owner.Found = true
		case !errors.Is(err, store.ErrNotFound):
			owner = store.Owner{Err: err}
		default:
			owner = store.Owner{}
		}
		return nil
	})
	if err != nil {
		return store.Record{}, store.Owner{}, err
	}
	s.records.put(gen, c, key, rec)
	if owner.Found {
		s.records.put(gen, store.Tenants, "", owner.Record)
	}
	return rec, owner, nil
}

// List implements store.Store.
func (s *Store) List(_ context.Context, c store.Collection) ([]store.Record, error) {
	var out []store.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		recs, _, err := buckets(tx, c)
		if err != nil {
			return err
		}
		return recs.ForEach(func(_, v []byte) error {
			var rec store.Record
			if err := decode(v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, c store.Collection, id string) error {
	defer s.records.invalidate()
	return s.db.Update(func(tx *bolt.Tx) error {
		recs, keys, err := buckets(tx, c)
		if err != nil {
			return err
		}
		var rec store.Record
		if err := decode(recs.Get([]byte(id)), &rec); err != nil {
			return err
		}
		for _, k := range rec.Keys {
			if err := keys.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return recs.Delete([]byte(id))
	})
}

func decode(v []byte, into any) error {
	if v == nil {
		return store.ErrNotFound
	}
	if err := json.Unmarshal(v, into); err != nil {
		return fmt.Errorf("bbolt: decode: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(context.Context) error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}

// Close implements store.Store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bbolt: close: %w", err)
	}
	return nil
}

func seqKey(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}
