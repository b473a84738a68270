// SPDX-License-Identifier: Apache-2.0

// Package redisserver starts a private redis-server for the token cluster's
// tests and benchmarks. It forwards to internal/redisserver, which also
// starts Redis Cluster and Sentinel deployments (the plugin's tests use them
// too, so the helpers live at the module root).
package redisserver

import (
	"testing"

	"github.com/credgate/credgate/internal/redisserver"
)

// Start launches redis-server and returns its URL (redis://127.0.0.1:PORT/0).
// Without a redis-server binary it skips the test loudly, unless the CI
// environment variable is set, in which case the test fails.
func Start(tb testing.TB) string {
	tb.Helper()
	return redisserver.Start(tb)
}

// Type aliases of the deployments, so token cluster tests import one package.
type (
	// Node is one redis-server process.
	Node = redisserver.Node
	// Cluster is a Redis Cluster with replicas.
	Cluster = redisserver.Cluster
	// Sentinel is a master, its replicas and three sentinels.
	Sentinel = redisserver.Sentinel
)

// StartNode starts one redis-server with extra redis.conf lines.
func StartNode(tb testing.TB, extra string) *Node {
	tb.Helper()
	return redisserver.StartNode(tb, extra)
}

// StartCluster starts a Redis Cluster of masters, each with replicas.
func StartCluster(tb testing.TB, masters, replicas int) *Cluster {
	tb.Helper()
	return redisserver.StartCluster(tb, masters, replicas)
}

// StartSentinel starts a master, replicas and three sentinels.
func StartSentinel(tb testing.TB, replicas int) *Sentinel {
	tb.Helper()
	return redisserver.StartSentinel(tb, replicas)
}

// MasterName is the master name of StartSentinel's sentinels.
const MasterName = redisserver.MasterName
