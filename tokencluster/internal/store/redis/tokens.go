// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

func (s *Store) tokKey(digest string) string { return s.prefix + "tok:" + digest }
func (s *Store) revKey() string              { return s.prefix + "rev" }

func ttl(expiresAt int64, now time.Time) time.Duration {
	return time.Unix(expiresAt, 0).Sub(now)
}

// PutToken implements store.Store. A token already expired at now is not stored.
func (s *Store) PutToken(ctx context.Context, tok store.Token, now time.Time) error {
	if tok.Digest == "" {
		return store.ErrInvalid
	}
	d := ttl(tok.ExpiresAt, now)
	if d <= 0 {
		return nil
	}
	val, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("redis: encode token: %w", err)
	}
	return wrap("put token", s.rdb.Set(ctx, s.tokKey(tok.Digest), val, d).Err())
}

func liveToken(v []byte, now time.Time) (store.Token, error) {
	var tok store.Token
	if err := decode(v, &tok); err != nil {
		return tok, err
	}
	if !tok.Live(now) {
		return store.Token{}, store.ErrNotFound
	}
	return tok, nil
}

// GetToken implements store.Store.
func (s *Store) GetToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	v, err := s.rdb.Get(ctx, s.tokKey(digest)).Bytes()
	if err != nil {
		return store.Token{}, wrap("get token", err)
	}
	return liveToken(v, now)
}

var casScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// TouchToken implements store.Store: the new expiry becomes the key's TTL.
func (s *Store) TouchToken(ctx context.Context, digest string, expiresAt int64, now time.Time) (store.Token, error) {
	key := s.tokKey(digest)
	for range 3 {
		old, err := s.rdb.Get(ctx, key).Bytes()
		if err != nil {
			return store.Token{}, wrap("touch token", err)
		}
		tok, err := liveToken(old, now)
		if err != nil {
			return tok, err
		}
		tok.ExpiresAt = expiresAt
		val, err := json.Marshal(tok)
		if err != nil {
			return tok, fmt.Errorf("redis: encode token: %w", err)
		}
		ms := ttl(expiresAt, now).Milliseconds()
		if ms <= 0 {
			return store.Token{}, s.DeleteToken(ctx, digest, now)
		}
		ok, err := casScript.Run(ctx, s.rdb, []string{key}, old, val, ms).Int()
		if err != nil {
			return store.Token{}, wrap("touch token", err)
		}
		if ok == 1 {
			return tok, nil
		}
	}
	return store.Token{}, fmt.Errorf("redis: touch token: concurrent updates: %w", store.ErrConflict)
}

// ConsumeToken implements store.Store (GETDEL: exactly one caller wins).
func (s *Store) ConsumeToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	v, err := s.rdb.GetDel(ctx, s.tokKey(digest)).Bytes()
	if err != nil {
		return store.Token{}, wrap("consume token", err)
	}
	return liveToken(v, now)
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(ctx context.Context, digest string, now time.Time) error {
	v, err := s.rdb.GetDel(ctx, s.tokKey(digest)).Bytes()
	if err != nil {
		return wrap("delete token", err)
	}
	_, err = liveToken(v, now)
	return err
}

// AppendRevocation implements store.Store.
func (s *Store) AppendRevocation(ctx context.Context, r store.Revocation) (uint64, error) {
	r.Seq = 0
	val, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("redis: encode revocation: %w", err)
	}
	n, err := s.rdb.RPush(ctx, s.revKey(), val).Result()
	if err != nil {
		return 0, wrap("append revocation", err)
	}
	return uint64(n), nil
}

// Revocations implements store.Store.
func (s *Store) Revocations(ctx context.Context, since uint64, limit int) ([]store.Revocation, uint64, error) {
	if limit <= 0 {
		n, err := s.rdb.LLen(ctx, s.revKey()).Uint64()
		return nil, n, wrap("revocations", err)
	}
	pipe := s.rdb.Pipeline()
	rng := pipe.LRange(ctx, s.revKey(), int64(since), int64(since)+int64(limit)-1)
	size := pipe.LLen(ctx, s.revKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, wrap("revocations", err)
	}
	out := make([]store.Revocation, 0, len(rng.Val()))
	for i, v := range rng.Val() {
		var r store.Revocation
		if err := decode([]byte(v), &r); err != nil {
			return nil, 0, err
		}
		r.Seq = since + uint64(i) + 1
		out = append(out, r)
	}
	return out, uint64(size.Val()), nil
}
