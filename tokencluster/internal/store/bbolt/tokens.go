// SPDX-License-Identifier: Apache-2.0

package bbolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// PutToken implements store.Store.
func (s *Store) PutToken(_ context.Context, tok store.Token, _ time.Time) error {
	if tok.Digest == "" {
		return store.ErrInvalid
	}
	val, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("bbolt: encode token: %w", err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).Put([]byte(tok.Digest), val)
	})
}

func liveToken(b *bolt.Bucket, digest string, now time.Time) (store.Token, error) {
	var tok store.Token
	if err := decode(b.Get([]byte(digest)), &tok); err != nil {
		return tok, err
	}
	if !tok.Live(now) {
		return store.Token{}, store.ErrNotFound
	}
	return tok, nil
}

// GetToken implements store.Store.
func (s *Store) GetToken(_ context.Context, digest string, now time.Time) (store.Token, error) {
	var tok store.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		tok, err = liveToken(tx.Bucket(bucketTokens), digest, now)
		return err
	})
	return tok, err
}

// TouchToken implements store.Store.
func (s *Store) TouchToken(_ context.Context, digest string, expiresAt int64, now time.Time) (store.Token, error) {
	return s.updateToken(digest, now, func(tok *store.Token) (bool, error) {
		if tok.ExpiresAt >= expiresAt {
			return false, nil
		}
		tok.ExpiresAt = expiresAt
		return true, nil
	})
}

// ConsumeToken implements store.Store: one write transaction marks it consumed.
func (s *Store) ConsumeToken(_ context.Context, digest string, now time.Time) (store.Token, error) {
	tok, err := s.updateToken(digest, now, func(tok *store.Token) (bool, error) {
		if tok.Consumed {
			return false, store.ErrConsumed
		}
		tok.Consumed = true
		return true, nil
	})
	tok.Consumed = false // returned as it was before this call
	return tok, err
}

// updateToken applies change to a live token in one transaction, writing when it reports a change.
func (s *Store) updateToken(digest string, now time.Time, change func(*store.Token) (bool, error)) (store.Token, error) {
	var tok store.Token
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		var err error
		if tok, err = liveToken(b, digest, now); err != nil {
			return err
		}
		changed, err := change(&tok)
		if err != nil || !changed {
			return err
		}
		val, err := json.Marshal(tok)
		if err != nil {
			return fmt.Errorf("bbolt: encode token: %w", err)
		}
		return b.Put([]byte(digest), val)
	})
	if err != nil {
		return store.Token{}, err
	}
	return tok, nil
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(_ context.Context, digest string, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if _, err := liveToken(b, digest, now); err != nil {
			return err
		}
		return b.Delete([]byte(digest))
	})
}

// Sweep deletes tokens expired at now and returns how many it removed.
func (s *Store) Sweep(_ context.Context, now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTokens).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var tok store.Token
			if err := json.Unmarshal(v, &tok); err == nil && tok.Live(now) {
				continue
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// AppendRevocation implements store.Store.
func (s *Store) AppendRevocation(_ context.Context, r store.Revocation) (uint64, error) {
	var seq uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevocations)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		r.Seq = seq
		val, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("bbolt: encode revocation: %w", err)
		}
		return b.Put(seqKey(seq), val)
	})
	return seq, err
}

// Revocations implements store.Store. The floor is the sequence before the
// first entry kept (or the head when none is kept); the tags are those of
// the entries at the head and at since, read in the same transaction.
func (s *Store) Revocations(_ context.Context, since uint64, limit int) ([]store.Revocation, store.Feed, error) {
	var out []store.Revocation
	var feed store.Feed
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevocations)
		feed.Epoch = string(tx.Bucket(bucketFeed).Get(keyEpoch))
		feed.Head = b.Sequence()
		c := b.Cursor()
		feed.Floor = feed.Head
		if k, _ := c.First(); k != nil {
			feed.Floor = binary.BigEndian.Uint64(k) - 1
		}
		tagAt := func(seq uint64) (string, error) {
			v := b.Get(seqKey(seq))
			if seq == 0 || v == nil {
				return "", nil // compacted, or never appended
			}
			var r store.Revocation
			if err := decode(v, &r); err != nil {
				return "", err
			}
			r.Seq = seq
			return store.EntryTag(feed.Epoch, r), nil
		}
		var err error
		if feed.Tag, err = tagAt(feed.Head); err != nil {
			return err
		}
		if feed.SinceTag, err = tagAt(since); err != nil {
			return err
		}
		for k, v := c.Seek(seqKey(since + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			if binary.BigEndian.Uint64(k) <= since {
				continue
			}
			var r store.Revocation
			if err := decode(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, feed, err
}

// CompactRevocations implements store.Store in one write transaction.
// Entries are removed from the front only, so the log holds every sequence
// from the first key to the bucket's sequence.
func (s *Store) CompactRevocations(_ context.Context, before int64, keep int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevocations)
		c := b.Cursor()
		k, v := c.First()
		if k == nil {
			return nil
		}
		over := 0
		if held := b.Sequence() - binary.BigEndian.Uint64(k) + 1; keep > 0 && held > uint64(keep) {
			over = int(min(held-uint64(keep), store.MaxCompact))
		}
		var drop [][]byte
		for ; k != nil && len(drop) < store.MaxCompact; k, v = c.Next() {
			if len(drop) >= over {
				var r store.Revocation
				if err := decode(v, &r); err != nil {
					return err
				}
				if r.At >= before {
					break
				}
			}
			drop = append(drop, slices.Clone(k))
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	return n, err
}
