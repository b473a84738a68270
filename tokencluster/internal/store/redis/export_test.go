// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// AddHook adds h to the clients that talk to the nodes (tests count round
// trips with it): on a Redis Cluster to each node's client, so that a
// pipeline to two masters counts two.
func AddHook(s *Store, h goredis.Hook) {
	cc, ok := s.rdb.(*goredis.ClusterClient)
	if !ok {
		s.rdb.AddHook(h)
		return
	}
	cc.OnNewNode(func(c *goredis.Client) { c.AddHook(h) })
	_ = cc.ForEachShard(context.Background(), func(_ context.Context, c *goredis.Client) error {
		c.AddHook(h)
		return nil
	})
}
