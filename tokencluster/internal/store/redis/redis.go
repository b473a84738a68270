// SPDX-License-Identifier: Apache-2.0

// Package redis is the distributed Store backend: several token cluster
// replicas share one Redis deployment, a single node, a Sentinel-managed
// master with replicas, or a Redis Cluster (one go-redis UniversalClient for
// the three). Token expiry and sliding expiry use Redis TTLs.
//
// Layout under the key prefix P (default "tc:"). Every key carries a hash tag
// (the part in braces) so that each Lua script and each multi-key command
// touches one cluster slot:
//
//	{P<collection>}:rec   hash id → record JSON
//	{P<collection>}:key   hash lookup key → id
//	{Ptok:<digest>}       string token JSON, TTL = expiry
//	{Pthr:<key>}          hash login-throttle counter
//	{Prev}                list of revocation JSON; entry i has sequence base+i+1
//	{Prev}:base           count of entries compacted from the front of {Prev} (base)
//	{Prev}:epoch          the feed's epoch, random, made with the feed (cursors carry it)
//	{Pmeta}:layout        "2": keys of an earlier untagged layout were renamed
//
// What shares a slot, and why: a collection's records and its lookup index
// are changed together by one script (a key must never point at a record that
// another write replaced), so they share the collection's tag. Every key of
// the revocation feed shares the tag {Prev}: the feed's cursor is one
// sequence, so its keys must move together (a step added next to the append,
// such as trimming, must use feedKey). Tokens and throttle counters are single
// keys and are spread over every slot by their own name: they are the bulk of
// the keys and of the traffic. A verification's read (read.go) spans the
// token's slot and those of several collections: one script on a single node
// or Sentinel, a script per slot on a Redis Cluster.
//
// The trade-off: a collection and the feed each live on one master. The feed
// is small (one append per revocation, one read per poll) and a collection's
// hash is read only on a cache miss of the verification path, so no slot is
// hot in practice; splitting them would cost the atomicity of Put and of the
// feed cursor. The prefix is inside the tag, so two deployments sharing one
// Redis Cluster under different prefixes land on different slots.
package redis

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Mode is the Redis deployment the store talks to.
type Mode string

// Deployments.
const (
	// Single is one Redis node (optionally with replicas that never take over).
	Single Mode = "single"
	// Sentinel is a master found through Redis Sentinel, replaced on failover.
	Sentinel Mode = "sentinel"
	// Cluster is a Redis Cluster: keys are spread over masters by hash slot.
	Cluster Mode = "cluster"
)

// Options configure New. Passwords come from the environment or files, never
// from the command line; the store never logs them.
type Options struct {
	Mode Mode
	// Addrs: the node (Single), the sentinels (Sentinel) or seed nodes (Cluster).
	Addrs []string
	// DB is the database number (Single and Sentinel; a cluster has only 0).
	DB int
	// MasterName is the Sentinel master name (Sentinel only).
	MasterName string
	// Username and Password authenticate to the data nodes (ACL user or requirepass).
	Username, Password string
	// SentinelUsername and SentinelPassword authenticate to the sentinels.
	SentinelUsername, SentinelPassword string
	// TLS, when set, is used for every connection.
	TLS *tls.Config
	// Prefix namespaces every key; empty means "tc:". It may not contain braces.
	Prefix string
	// WaitReplicas is how many replicas must acknowledge a security-relevant
	// write (issuance, revocation, record change, single-use consumption)
	// before it is acknowledged to the caller; 0 acknowledges as soon as the
	// master applied it. See "Durability" in tokencluster/README.md.
	WaitReplicas int
	// WaitTimeout bounds that wait; past it the write fails (default 1s).
	WaitTimeout time.Duration
}

// ErrNotReplicated: the master applied a write but too few replicas
// acknowledged it in time, so a failover could lose it; the write is reported
// as failed. It may still be visible later (it was applied), which is safe for
// every write the store waits for: each is idempotent or fails closed.
var ErrNotReplicated = errors.New("redis: write not acknowledged by enough replicas")

// Store is a Redis-backed store.Store.
type Store struct {
	rdb          goredis.UniversalClient
	prefix       string
	waitReplicas int
	waitTimeout  time.Duration
	migrated     int
	// cluster: keys of one script must share a slot (see ReadView).
	cluster bool
}

var _ store.Store = (*Store)(nil)

// Open connects to a single node by URL (redis://host:port/db, rediss:// for
// TLS) and checks it answers. prefix namespaces every key; empty means "tc:".
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, errors.New("redis: invalid URL (expected redis://host:port/db)")
	}
	return New(ctx, Options{Mode: Single, Addrs: []string{opts.Addr}, DB: opts.DB, Username: opts.Username,
		Password: opts.Password, TLS: opts.TLSConfig, Prefix: prefix})
}

// New connects to the deployment described by o and checks it answers.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.Prefix == "" {
		o.Prefix = "tc:"
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("redis: key prefix %q may not contain braces (they are the hash tag)", o.Prefix)
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("redis: no address")
	}
	if o.WaitReplicas < 0 {
		return nil, errors.New("redis: replicas to wait for must be 0 or more")
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = time.Second
	}
	uo := &goredis.UniversalOptions{Addrs: o.Addrs, DB: o.DB, Username: o.Username, Password: o.Password,
		SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword, TLSConfig: o.TLS}
	switch o.Mode {
	case Single, "":
		if len(o.Addrs) != 1 {
			return nil, errors.New("redis: a single node has one address")
		}
	case Sentinel:
		if o.MasterName == "" {
			return nil, errors.New("redis: Sentinel needs the master name")
		}
		uo.MasterName = o.MasterName
	case Cluster:
		if o.DB != 0 {
			return nil, errors.New("redis: a Redis Cluster has only database 0")
		}
		uo.IsClusterMode = true
	default:
		return nil, fmt.Errorf("redis: unknown mode %q", o.Mode)
	}
	s := &Store{rdb: goredis.NewUniversalClient(uo), prefix: o.Prefix, waitReplicas: o.WaitReplicas, waitTimeout: o.WaitTimeout,
		cluster: o.Mode == Cluster}
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// tag returns the hash-tagged key of group: "{" + prefix + group + "}" + rest.
func (s *Store) tag(group, rest string) string { return "{" + s.prefix + group + "}" + rest }

func (s *Store) recKey(c store.Collection) string { return s.tag(string(c), ":rec") }
func (s *Store) keyKey(c store.Collection) string { return s.tag(string(c), ":key") }

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
	var res goredis.Cmder
	err = s.durable(ctx, s.recKey(c), func(p goredis.Pipeliner, load bool) {
		res = s.script(ctx, p, load, putScript, []string{s.recKey(c), s.keyKey(c)}, args...)
	})
	if err == nil {
		err = res.Err()
	}
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
	var res *goredis.Cmd
	err := s.durable(ctx, s.recKey(c), func(p goredis.Pipeliner, load bool) {
		res = s.script(ctx, p, load, deleteScript, []string{s.recKey(c), s.keyKey(c)}, id)
	})
	var n int
	if err == nil {
		n, err = res.Int()
	}
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
