// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// migrate moves keys of the layout without hash tags (P rec:<c>, P key:<c>,
// P tok:<digest>, P thr:<key>, P rev), which earlier releases wrote on a
// single node, to their tagged names. RENAME keeps each key's TTL. It runs at
// every start on a single node or Sentinel (a Redis Cluster never held the
// old layout) and is a no-op once done; replicas starting together are safe,
// since a key already moved by another one is simply gone. A key present
// under both names is refused rather than overwritten. Once done, the key
// {P meta}:layout records it, so later starts skip the keyspace scan.
func (s *Store) migrate(ctx context.Context) error {
	if _, ok := s.rdb.(*goredis.ClusterClient); ok {
		return nil
	}
	marker := s.tag("meta", ":layout")
	if v, err := s.rdb.Get(ctx, marker).Result(); err == nil && v == layoutVersion {
		return nil
	}
	moves := map[string]string{s.prefix + "rev": s.revKey()}
	for _, c := range store.Collections {
		moves[s.prefix+"rec:"+string(c)] = s.recKey(c)
		moves[s.prefix+"key:"+string(c)] = s.keyKey(c)
	}
	for _, kind := range []struct {
		old string
		new func(string) string
	}{{"tok:", s.tokKey}, {"thr:", s.thrKey}} {
		iter := s.rdb.Scan(ctx, 0, globEscape(s.prefix+kind.old)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			moves[iter.Val()] = kind.new(strings.TrimPrefix(iter.Val(), s.prefix+kind.old))
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("redis: migrate key layout: %w", err)
		}
	}
	moved := 0
	for old, tagged := range moves {
		ok, err := s.rdb.RenameNX(ctx, old, tagged).Result()
		switch {
		case err != nil && strings.Contains(err.Error(), "no such key"):
			continue
		case err != nil:
			return fmt.Errorf("redis: migrate key layout: %w", err)
		case !ok:
			return fmt.Errorf("redis: both %q (earlier layout) and %q exist; remove one before starting", old, tagged)
		}
		moved++
	}
	s.migrated = moved
	if err := s.rdb.Set(ctx, marker, layoutVersion, 0).Err(); err != nil {
		return fmt.Errorf("redis: migrate key layout: %w", err)
	}
	return nil
}

// layoutVersion is the key layout with hash tags.
const layoutVersion = "2"

// Migrated reports how many keys of the earlier layout the store renamed at start.
func (s *Store) Migrated() int { return s.migrated }

// globEscape escapes the SCAN MATCH pattern characters of a literal prefix.
func globEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
