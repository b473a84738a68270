// SPDX-License-Identifier: Apache-2.0

package redisserver

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters, each with replicas.
type Cluster struct {
	Nodes []*Node
}

// StartCluster starts masters*(1+replicas) nodes and joins them with
// `redis-cli --cluster create ... --cluster-replicas N`, then waits until
// every node reports cluster_state:ok and every replica is in sync. The node
// timeout is one second, so a killed master is replaced within a few seconds.
func StartCluster(tb testing.TB, masters, replicas int) *Cluster {
	tb.Helper()
	cli := Binary(tb, "redis-cli")
	start := time.Now()
	c := &Cluster{}
	for range masters * (1 + replicas) {
		bus, err := FreePort()
		if err != nil {
			tb.Fatal(err)
		}
		c.Nodes = append(c.Nodes, StartNode(tb, fmt.Sprintf("cluster-enabled yes\ncluster-config-file nodes.conf\n"+
			"cluster-node-timeout 1000\ncluster-port %d\ncluster-replica-validity-factor 0\n", bus)))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(context.Background(), 30*time.Second); err != nil {
		tb.Fatalf("cluster not healthy: %v", err)
	}
	tb.Logf("redis cluster of %d masters × %d replicas up on %s in %s", masters, replicas,
		strings.Join(c.Addrs(), ","), time.Since(start).Round(time.Millisecond))
	return c
}

// Addrs returns every node's address.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr)
	}
	return out
}

// Node returns the node listening on addr.
func (c *Cluster) Node(addr string) *Node {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

func client(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
}

// WaitHealthy waits until every running node reports cluster_state:ok, every
// slot has a master, and every replica's link to its master is up.
func (c *Cluster) WaitHealthy(ctx context.Context, within time.Duration) error {
	return eventually(ctx, within, func(ctx context.Context) error {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			rdb := client(n.Addr)
			info, err := rdb.ClusterInfo(ctx).Result()
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = fmt.Errorf("%s: cluster_state not ok", n.Addr)
			}
			var repl string
			if err == nil {
				repl, err = rdb.Info(ctx, "replication").Result()
			}
			_ = rdb.Close()
			if err != nil {
				return err
			}
			if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				return fmt.Errorf("%s: replica link down", n.Addr)
			}
		}
		return nil
	})
}

// MasterOf returns the node that is master of key's slot now.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Node, error) {
	var addr string
	err := eventually(ctx, 10*time.Second, func(ctx context.Context) error {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			rdb := client(n.Addr)
			slot, err := rdb.ClusterKeySlot(ctx, key).Result()
			var slots []goredis.ClusterSlot
			if err == nil {
				slots, err = rdb.ClusterSlots(ctx).Result()
			}
			_ = rdb.Close()
			if err != nil {
				continue
			}
			for _, s := range slots {
				if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
					addr = s.Nodes[0].Addr
					return nil
				}
			}
		}
		return fmt.Errorf("no master known for %q", key)
	})
	if err != nil {
		return nil, err
	}
	if n := c.Node(addr); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("master %s of %q is not a node of this cluster", addr, key)
}

// ReplicaOf returns a running replica of master.
func (c *Cluster) ReplicaOf(ctx context.Context, master *Node) (*Node, error) {
	for _, n := range c.Nodes {
		if n == master || !n.Running() {
			continue
		}
		rdb := client(n.Addr)
		repl, err := rdb.Info(ctx, "replication").Result()
		_ = rdb.Close()
		if err == nil && strings.Contains(repl, fmt.Sprintf("master_port:%d\r\n", master.Port)) {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no replica of %s", master.Addr)
}
