// SPDX-License-Identifier: Apache-2.0

package bbolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

var _ store.Reader = (*Store)(nil)

// errNoWrite ends a write transaction that changed nothing without a
// commit (and its fsync).
var errNoWrite = errors.New("bbolt: nothing to write")

// ReadView implements store.Reader: one cache access when no token is read
// and every record is warm, else one transaction (a write transaction when
// it may consume a token) that takes warm records from the cache.
func (s *Store) ReadView(_ context.Context, r store.Read) (*store.View, error) {
	if r.Token == "" {
		if answers, ok := s.records.follow(&r); ok {
			return store.NewView(r, nil, answers), nil
		}
	}
	gen := s.records.generation()
	var tok *store.TokenAnswer
	var answers []store.Answer
	read := func(tx *bolt.Tx) error {
		var owner *store.Token
		wrote := false
		if r.Token != "" {
			var err error
			if tok, wrote, err = readToken(tx, &r); err != nil {
				return err
			}
			if tok.Err == nil {
				owner = &tok.Token
			}
		}
		var err error
		answers, err = r.Follow(owner, func(dst []store.Answer, refs []store.Ref) ([]store.Answer, error) {
			for _, ref := range refs {
				dst = append(dst, s.answer(tx, ref))
			}
			return dst, nil
		})
		if err == nil && r.Consume != "" && !wrote {
			err = errNoWrite
		}
		return err
	}
	var err error
	if r.Consume != "" {
		err = s.db.Update(read)
	} else {
		err = s.db.View(read)
	}
	if err != nil && !errors.Is(err, errNoWrite) {
		return nil, err
	}
	for _, a := range answers {
		if a.Err == nil {
			s.records.put(gen, a.Ref.C, a.Ref.Key, a.Record)
		}
	}
	return store.NewView(r, tok, answers), nil
}

// readToken reads the token of r in tx and consumes it as r says; wrote
// reports a consumption. Its error is one of the transaction (a write).
func readToken(tx *bolt.Tx, r *store.Read) (ans *store.TokenAnswer, wrote bool, err error) {
	b := tx.Bucket(bucketTokens)
	tok, terr := liveToken(b, r.Token, r.Now)
	if terr != nil || r.Consume == "" || tok.Kind != r.Consume {
		return &store.TokenAnswer{Token: tok, Err: terr}, false, nil
	}
	if tok.Consumed {
		return &store.TokenAnswer{Err: store.ErrConsumed}, false, nil
	}
	tok.Consumed = true
	val, err := json.Marshal(tok)
	if err != nil {
		return nil, false, fmt.Errorf("bbolt: encode token: %w", err)
	}
	if err := b.Put([]byte(r.Token), val); err != nil {
		return nil, false, err
	}
	tok.Consumed = false // answered as it was before this read
	return &store.TokenAnswer{Token: tok}, true, nil
}

// answer reads ref: from the cache when warm, else in tx.
func (s *Store) answer(tx *bolt.Tx, ref store.Ref) store.Answer {
	a := store.Answer{Ref: ref}
	var ok bool
	if ref.ID == "" {
		a.Record, ok = s.records.lookup(ref.C, ref.Key)
	} else {
		a.Record, ok = s.records.get(ref.C, ref.ID)
	}
	if ok {
		a.ID = a.Record.ID
		return a
	}
	recs, keys, err := buckets(tx, ref.C)
	if err != nil {
		a.Err = err
		return a
	}
	id := []byte(ref.ID)
	if ref.ID == "" {
		if id = keys.Get([]byte(ref.Key)); id == nil {
			a.Err = store.ErrNotFound
			return a
		}
	}
	if a.Err = decode(recs.Get(id), &a.Record); a.Err == nil {
		a.ID = string(id)
	}
	return a
}
