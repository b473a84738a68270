// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
	"github.com/credgate/credgate/tokencluster/internal/store/storetest"
)

// clusterOptions and sentinelOptions connect to the test deployments,
// waiting for one replica after every security-relevant write.
func clusterOptions(c *redisserver.Cluster, prefix string) redis.Options {
	return redis.Options{Mode: redis.Cluster, Addrs: c.Addrs(), Prefix: prefix, WaitReplicas: 1, WaitTimeout: 2 * time.Second}
}

func sentinelOptions(s *redisserver.Sentinel, prefix string) redis.Options {
	return redis.Options{Mode: redis.Sentinel, Addrs: s.SentinelAddrs(), MasterName: redisserver.MasterName, Prefix: prefix,
		WaitReplicas: 1, WaitTimeout: 2 * time.Second}
}

func open(t *testing.T, o redis.Options) *redis.Store {
	t.Helper()
	s, err := redis.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRedisCluster runs the conformance suite on a 3-master Redis Cluster
// with one replica per master, then fails a master over under load.
func TestRedisCluster(t *testing.T) {
	c := redisserver.StartCluster(t, 3, 1)
	var n atomic.Int64
	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, clusterOptions(c, fmt.Sprintf("c%d:", n.Add(1)))) })
	})
}

// TestRedisSentinel runs the conformance suite on a Sentinel-managed master
// and replica, then fails the master over under load.
func TestRedisSentinel(t *testing.T) {
	s := redisserver.StartSentinel(t)
	var n atomic.Int64
	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, sentinelOptions(s, fmt.Sprintf("s%d:", n.Add(1)))) })
	})
}
