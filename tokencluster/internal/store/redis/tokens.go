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

func (s *Store) tokKey(digest string) string { return s.tag("tok:"+digest, "") }

// feedKey names a key of the revocation feed: every one shares the feed's
// hash tag, so a script over several of them runs on one cluster slot.
func (s *Store) feedKey(part string) string { return s.tag("rev", part) }
func (s *Store) revKey() string             { return s.feedKey("") }

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
	key := s.tokKey(tok.Digest)
	var set *goredis.StatusCmd
	err = s.durable(ctx, key, func(p goredis.Pipeliner, _ bool) { set = p.Set(ctx, key, val, d) })
	if err == nil {
		err = set.Err()
	}
	return wrap("put token", err)
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

// casScript replaces KEYS[1] when it still holds ARGV[1]; ARGV[3] is the new
// TTL in milliseconds, or "keep" to keep the current TTL.
var casScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == 'keep' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// TouchToken implements store.Store: the new expiry becomes the key's TTL.
func (s *Store) TouchToken(ctx context.Context, digest string, expiresAt int64, now time.Time) (store.Token, error) {
	ms := ttl(expiresAt, now).Milliseconds()
	return s.updateToken(ctx, digest, now, false, func(tok *store.Token) (string, error) {
		if tok.ExpiresAt >= expiresAt || ms <= 0 {
			return "", nil
		}
		tok.ExpiresAt = expiresAt
		return fmt.Sprint(ms), nil
	})
}

// ConsumeToken implements store.Store.
func (s *Store) ConsumeToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	tok, err := s.updateToken(ctx, digest, now, true, func(tok *store.Token) (string, error) {
		if tok.Consumed {
			return "", store.ErrConsumed
		}
		tok.Consumed = true
		return "keep", nil
	})
	tok.Consumed = false // returned as it was before this call
	return tok, err
}

// updateToken reads a live token, applies change and writes it back with a
// compare-and-set, retrying when another replica changed it meanwhile.
// change returns the TTL argument of casScript, or "" for no write. A durable
// update waits for replicas (a consumed single-use token must stay consumed
// across a failover); a sliding-expiry touch does not (losing one only makes
// the session expire sooner).
func (s *Store) updateToken(ctx context.Context, digest string, now time.Time, durable bool, change func(*store.Token) (string, error)) (store.Token, error) {
	key := s.tokKey(digest)
	for range 16 {
		old, err := s.rdb.Get(ctx, key).Bytes()
		if err != nil {
			return store.Token{}, wrap("update token", err)
		}
		tok, err := liveToken(old, now)
		if err != nil {
			return store.Token{}, err
		}
		ttlArg, err := change(&tok)
		if err != nil {
			return store.Token{}, err
		}
		if ttlArg == "" {
			return tok, nil
		}
		val, err := json.Marshal(tok)
		if err != nil {
			return store.Token{}, fmt.Errorf("redis: encode token: %w", err)
		}
		var ok int
		if durable {
			var res *goredis.Cmd
			err = s.durable(ctx, key, func(p goredis.Pipeliner, load bool) {
				res = s.script(ctx, p, load, casScript, []string{key}, old, val, ttlArg)
			})
			if err == nil {
				ok, err = res.Int()
			}
		} else {
			ok, err = casScript.Run(ctx, s.rdb, []string{key}, old, val, ttlArg).Int()
		}
		if err != nil {
			return store.Token{}, wrap("update token", err)
		}
		if ok == 1 {
			return tok, nil
		}
	}
	return store.Token{}, fmt.Errorf("redis: update token: too many concurrent updates: %w", store.ErrConflict)
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(ctx context.Context, digest string, now time.Time) error {
	key := s.tokKey(digest)
	var del *goredis.StringCmd
	err := s.durable(ctx, key, func(p goredis.Pipeliner, _ bool) { del = p.GetDel(ctx, key) })
	var v []byte
	if err == nil {
		v, err = del.Bytes()
	}
	if err != nil {
		return wrap("delete token", err)
	}
	_, err = liveToken(v, now)
	return err
}

// The revocation log is the list revKey plus revBaseKey, the count of
// entries compacted away from its front: list index i holds sequence
// base+i+1, and revEpochKey, the log's epoch (store.Feed.Epoch). Every key
// derives from revKey so that they share a hash slot.
//
// The epoch is made by the first script that finds it missing (an append or
// a read), with a random value the caller passes (Lua's random numbers are
// the same on every node): a feed whose keys were lost (FLUSHALL, a failover
// to a node without them, a restore of an older snapshot without the key)
// gets a new epoch, and cursors of the old one are answered as behind.
func (s *Store) revBaseKey() string  { return s.revKey() + ":base" }
func (s *Store) revEpochKey() string { return s.revKey() + ":epoch" }

func (s *Store) revKeys() []string { return []string{s.revKey(), s.revBaseKey(), s.revEpochKey()} }

var appendRevScript = goredis.NewScript(`
redis.call('SET', KEYS[3], ARGV[2], 'NX')
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
return n + tonumber(redis.call('GET', KEYS[2]) or '0')
`)

// revRangeScript returns {epoch, base, length, head entry, entry at
// ARGV[1], entries...} for entries after sequence ARGV[1], at most ARGV[2]
// of them, from one consistent view (an entry the list does not hold is
// ""); it makes the epoch ARGV[3] when there is none.
var revRangeScript = goredis.NewScript(`
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch)
end
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local since = tonumber(ARGV[1])
local head, at = '', ''
if len > 0 then head = redis.call('LINDEX', KEYS[1], -1) end
if since > base and since <= base + len then at = redis.call('LINDEX', KEYS[1], since - base - 1) end
local out = {epoch, base, len, head, at}
local limit = tonumber(ARGV[2])
local from = since - base
if from < 0 then from = 0 end
if limit > 0 and from < len then
  local vals = redis.call('LRANGE', KEYS[1], from, from + limit - 1)
  for _, v in ipairs(vals) do out[#out + 1] = v end
end
return out
`)

// compactRevScript drops entries from the front: enough to keep at most
// ARGV[2] (0: no bound), then while their "at" is below ARGV[1]; at most
// ARGV[3] in all.
var compactRevScript = goredis.NewScript(`
local before, keep, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local len = redis.call('LLEN', KEYS[1])
local over = 0
if keep > 0 and len > keep then over = len - keep end
local drop = math.min(over, most)
while drop < len and drop < most do
  local vals = redis.call('LRANGE', KEYS[1], drop, drop + 99)
  local stop = false
  for _, v in ipairs(vals) do
    local at = cjson.decode(v).at
    if type(at) ~= 'number' or at >= before or drop >= most then stop = true break end
    drop = drop + 1
  end
  if stop or #vals == 0 then break end
end
if drop > 0 then
  redis.call('LTRIM', KEYS[1], drop, -1)
  redis.call('INCRBY', KEYS[2], drop)
end
return drop
`)

// AppendRevocation implements store.Store.
func (s *Store) AppendRevocation(ctx context.Context, r store.Revocation) (uint64, error) {
	r.Seq = 0
	val, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("redis: encode revocation: %w", err)
	}
	var cmd *goredis.Cmd
	keys, epoch := s.revKeys(), store.NewEpoch()
	err = s.durable(ctx, s.revKey(), func(p goredis.Pipeliner, load bool) {
		cmd = s.script(ctx, p, load, appendRevScript, keys, val, epoch)
	})
	var n uint64
	if err == nil {
		n, err = cmd.Uint64()
	}
	if err != nil {
		return 0, wrap("append revocation", err)
	}
	return n, nil
}

// Revocations implements store.Store.
func (s *Store) Revocations(ctx context.Context, since uint64, limit int) ([]store.Revocation, store.Feed, error) {
	vals, err := revRangeScript.Run(ctx, s.rdb, s.revKeys(), since, max(limit, 0), store.NewEpoch()).Slice()
	if err != nil {
		return nil, store.Feed{}, wrap("revocations", err)
	}
	if len(vals) < 5 {
		return nil, store.Feed{}, fmt.Errorf("redis: revocations: short reply (%d values)", len(vals))
	}
	epoch, _ := vals[0].(string)
	base, _ := vals[1].(int64)
	size, _ := vals[2].(int64)
	if epoch == "" {
		return nil, store.Feed{}, fmt.Errorf("redis: revocations: no epoch in the reply")
	}
	feed := store.Feed{Epoch: epoch, Floor: uint64(base), Head: uint64(base + size)}
	tagOf := func(v any, seq uint64) (string, error) {
		str, _ := v.(string)
		if str == "" {
			return "", nil // not held
		}
		var r store.Revocation
		if err := decode([]byte(str), &r); err != nil {
			return "", err
		}
		r.Seq = seq
		return store.EntryTag(epoch, r), nil
	}
	if feed.Tag, err = tagOf(vals[3], feed.Head); err != nil {
		return nil, store.Feed{}, err
	}
	if feed.SinceTag, err = tagOf(vals[4], since); err != nil {
		return nil, store.Feed{}, err
	}
	first := max(since, feed.Floor)
	out := make([]store.Revocation, 0, len(vals)-5)
	for i, v := range vals[5:] {
		str, _ := v.(string)
		var r store.Revocation
		if err := decode([]byte(str), &r); err != nil {
			return nil, store.Feed{}, err
		}
		r.Seq = first + uint64(i) + 1
		out = append(out, r)
	}
	return out, feed, nil
}

// CompactRevocations implements store.Store in one script.
func (s *Store) CompactRevocations(ctx context.Context, before int64, keep int) (int, error) {
	n, err := compactRevScript.Run(ctx, s.rdb, s.revKeys()[:2], before, max(keep, 0), store.MaxCompact).Int()
	return n, wrap("compact revocations", err)
}
