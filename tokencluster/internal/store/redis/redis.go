// SPDX-License-Identifier: Apache-2.0

// Package redis is the distributed Store backend: several token cluster
// replicas share one Redis. Token expiry and sliding expiry use Redis TTLs.
//
// Layout under the key prefix P (default "tc:"):
//
//	P rec:<collection>   hash id → record JSON
//	P key:<collection>   hash lookup key → id
//	P tok:<digest>       string token JSON, TTL = expiry
//	P rev                list of revocation JSON; entry i has sequence base+i+1
//	P rev:base           count of entries compacted from the front of P rev (base)
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Store is a Redis-backed store.Store.
type Store struct {
	rdb    *goredis.Client
	prefix string
}

var _ store.Store = (*Store)(nil)

// Open connects to the Redis URL (redis://host:port/db) and checks it answers.
// prefix namespaces every key; empty means "tc:".
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: parse url: %w", err)
	}
	if prefix == "" {
		prefix = "tc:"
	}
	s := &Store{rdb: goredis.NewClient(opts), prefix: prefix}
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) recKey(c store.Collection) string { return s.prefix + "rec:" + string(c) }
func (s *Store) keyKey(c store.Collection) string { return s.prefix + "key:" + string(c) }

var putScript = goredis.NewScript(`
local id = ARGV[1]
for i = 3, #ARGV do
  local owner = redis.call('HGET', KEYS[2], ARGV[i])
  if owner and owner ~= id then return redis.error_reply('CONFLICT') end
end
local old = redis.call('HGET', KEYS[1], id)
if old then
  local prev = cjson.decode(old)
  if type(prev.keys) == 'table' then
    for _, k in ipairs(prev.keys) do redis.call('HDEL', KEYS[2], k) end
  end
end
for i = 3, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], id) end
redis.call('HSET', KEYS[1], id, ARGV[2])
return 1
`)

var deleteScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local prev = cjson.decode(old)
if type(prev.keys) == 'table' then
  for _, k in ipairs(prev.keys) do redis.call('HDEL', KEYS[2], k) end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, c store.Collection, rec store.Record) error {
	if err := store.Validate(c, rec); err != nil {
		return err
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("redis: encode record: %w", err)
	}
	args := []any{rec.ID, val}
	for _, k := range rec.Keys {
		args = append(args, k)
	}
	err = putScript.Run(ctx, s.rdb, []string{s.recKey(c), s.keyKey(c)}, args...).Err()
	if err != nil && strings.Contains(err.Error(), "CONFLICT") {
		return fmt.Errorf("redis: put %s/%s: %w", c, rec.ID, store.ErrConflict)
	}
	return wrap("put", err)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, c store.Collection, id string) (store.Record, error) {
	var rec store.Record
	v, err := s.rdb.HGet(ctx, s.recKey(c), id).Bytes()
	if err != nil {
		return rec, wrap("get", err)
	}
	return rec, decode(v, &rec)
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, c store.Collection, key string) (store.Record, error) {
	id, err := s.rdb.HGet(ctx, s.keyKey(c), key).Result()
	if err != nil {
		return store.Record{}, wrap("lookup", err)
	}
	return s.Get(ctx, c, id)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, c store.Collection) ([]store.Record, error) {
	vals, err := s.rdb.HVals(ctx, s.recKey(c)).Result()
	if err != nil {
		return nil, wrap("list", err)
	}
	out := make([]store.Record, 0, len(vals))
	for _, v := range vals {
		var rec store.Record
		if err := decode([]byte(v), &rec); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, c store.Collection, id string) error {
	n, err := deleteScript.Run(ctx, s.rdb, []string{s.recKey(c), s.keyKey(c)}, id).Int()
	if err != nil {
		return wrap("delete", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.rdb.Ping(ctx).Err())
}

// Close implements store.Store.
func (s *Store) Close() error {
	return wrap("close", s.rdb.Close())
}

func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return store.ErrNotFound
	default:
		return fmt.Errorf("redis: %s: %w", op, err)
	}
}

func decode(v []byte, into any) error {
	if err := json.Unmarshal(v, into); err != nil {
		return fmt.Errorf("redis: decode: %w", err)
	}
	return nil
}
