// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/throttle"
)

// The store keeps the login throttle's counters, so every replica on this
// Redis counts the same failures.
var _ throttle.Counters = (*Store)(nil)

// thrKey: one counter per key, in its own slot. Counters are not written with
// WAIT: a failover may forget the last failures, which the window bounds.
func (s *Store) thrKey(key string) string { return s.tag("thr:"+key, "") }

// addFailureScript: KEYS[1] the counter (a hash: n, b = refused until, ms);
// ARGV: now ms, window ms, threshold, base ms, max ms.
var addFailureScript = goredis.NewScript(`
local now, window, th, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n == 1 then redis.call('PEXPIRE', KEYS[1], window) end
local wait = 0
if n >= th then
  local b, i = base, th
  while i < n and b < max do b = b * 2; i = i + 1 end
  if b > max then b = max end
  redis.call('HSET', KEYS[1], 'b', now + b)
  if redis.call('PTTL', KEYS[1]) < b then redis.call('PEXPIRE', KEYS[1], b) end
  wait = b
end
return {n, wait}
`)

// AddFailure implements throttle.Counters.
func (s *Store) AddFailure(ctx context.Context, key string, p throttle.Policy) (int64, time.Duration, error) {
	res, err := addFailureScript.Run(ctx, s.rdb, []string{s.thrKey(key)}, time.Now().UnixMilli(), p.Window.Milliseconds(),
		p.Threshold, p.Base.Milliseconds(), p.Max.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, 0, errors.Join(errors.New("redis: login throttle"), err)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

// Failures implements throttle.Counters.
func (s *Store) Failures(ctx context.Context, key string) (int64, time.Duration, error) {
	vals, err := s.rdb.HMGet(ctx, s.thrKey(key), "n", "b").Result()
	if err != nil {
		return 0, 0, err
	}
	n, until := asInt(vals[0]), asInt(vals[1])
	wait := time.Duration(until-time.Now().UnixMilli()) * time.Millisecond
	return n, max(wait, 0), nil
}

// ClearFailures implements throttle.Counters.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, s.thrKey(key)).Err()
}

func asInt(v any) int64 {
	str, ok := v.(string)
	if !ok {
		return 0
	}
	var n int64
	for _, c := range str {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
