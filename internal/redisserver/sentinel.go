// SPDX-License-Identifier: Apache-2.0

package redisserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// MasterName is the name the sentinels of StartSentinel monitor.
const MasterName = "credgate"

// Sentinel is a master, its replicas and three sentinels (quorum 2).
type Sentinel struct {
	Nodes     []*Node // the data nodes: master first at start
	Sentinels []*Node
	replicas  int
}

// StartSentinel starts a master, replicas and three sentinels and waits
// until the sentinels know the replicas and each other. down-after is three
// seconds, so a killed master is replaced within a few seconds. One second
// was too short on a loaded machine: a new master paused by the fork of
// its replica's first sync was judged down, and the sentinels promoted that
// replica, empty before the sync had ended (Sentinel may pick a replica
// whose first sync is under way), so acknowledged writes were lost.
func StartSentinel(tb testing.TB, replicas int) *Sentinel {
	tb.Helper()
	start := time.Now()
	master := StartNode(tb, "")
	s := &Sentinel{Nodes: []*Node{master}, replicas: replicas}
	for range replicas {
		s.Nodes = append(s.Nodes, StartNode(tb, fmt.Sprintf("replicaof 127.0.0.1 %d\n", master.Port)))
	}
	for range 3 {
		s.Sentinels = append(s.Sentinels, StartNode(tb, fmt.Sprintf("--sentinel\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %[1]s 3000\n"+
			"sentinel failover-timeout %[1]s 10000\nsentinel parallel-syncs %[1]s 1\n", MasterName, master.Port)))
	}
	ctx := context.Background()
	err := eventually(ctx, 30*time.Second, func(ctx context.Context) error {
		if err := s.replicaInSync(ctx, master, replicas); err != nil {
			return err
		}
		for _, sn := range s.Sentinels {
			rdb := client(sn.Addr)
			known, err := rdb.Do(ctx, "SENTINEL", "REPLICAS", MasterName).Slice()
			var others []any
			if err == nil {
				others, err = rdb.Do(ctx, "SENTINEL", "SENTINELS", MasterName).Slice()
			}
			_ = rdb.Close()
			if err != nil {
				return err
			}
			if len(known) != replicas || len(others) != 2 {
				return fmt.Errorf("sentinel %s knows %d replicas and %d sentinels", sn.Addr, len(known), len(others))
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("sentinel setup not ready: %v", err)
	}
	tb.Logf("redis master %s, %d replicas, sentinels %s up in %s", master.Addr, replicas,
		strings.Join(s.SentinelAddrs(), ","), time.Since(start).Round(time.Millisecond))
	return s
}

// SentinelAddrs returns the sentinels' addresses.
func (s *Sentinel) SentinelAddrs() []string {
	var out []string
	for _, n := range s.Sentinels {
		out = append(out, n.Addr)
	}
	return out
}

// Master returns the data node the sentinels name as master now.
func (s *Sentinel) Master(ctx context.Context) (*Node, error) {
	for _, sn := range s.Sentinels {
		rdb := client(sn.Addr)
		addr, err := rdb.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
		_ = rdb.Close()
		if err != nil || len(addr) != 2 {
			continue
		}
		for _, n := range s.Nodes {
			if fmt.Sprint(n.Port) == addr[1] {
				return n, nil
			}
		}
	}
	return nil, fmt.Errorf("no sentinel names a master")
}

// Failover asks a sentinel to fail over (SENTINEL FAILOVER) and waits until
// another node is master with an online replica, and every sentinel agrees.
// It returns the new master.
func (s *Sentinel) Failover(ctx context.Context, within time.Duration) (*Node, error) {
	old, err := s.Master(ctx)
	if err != nil {
		return nil, err
	}
	rdb := client(s.Sentinels[0].Addr)
	err = rdb.Do(ctx, "SENTINEL", "FAILOVER", MasterName).Err()
	_ = rdb.Close()
	if err != nil {
		return nil, fmt.Errorf("SENTINEL FAILOVER: %w", err)
	}
	return s.WaitNewMaster(ctx, old, within)
}

// WaitNewMaster waits until every sentinel names a master other than old,
// that node answers as master, and at least one replica is in sync with it.
func (s *Sentinel) WaitNewMaster(ctx context.Context, old *Node, within time.Duration) (*Node, error) {
	return s.waitMaster(ctx, old, within, 1)
}

// WaitPromoted waits until every sentinel names a master other than old and
// that node answers as master, with or without replicas.
func (s *Sentinel) WaitPromoted(ctx context.Context, old *Node, within time.Duration) (*Node, error) {
	return s.waitMaster(ctx, old, within, 0)
}

func (s *Sentinel) waitMaster(ctx context.Context, old *Node, within time.Duration, replicas int) (*Node, error) {
	var now *Node
	err := eventually(ctx, within, func(ctx context.Context) error {
		for _, sn := range s.Sentinels {
			rdb := client(sn.Addr)
			addr, err := rdb.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
			_ = rdb.Close()
			if err != nil {
				return err
			}
			if len(addr) != 2 || addr[1] == fmt.Sprint(old.Port) {
				return fmt.Errorf("sentinel %s still names %v", sn.Addr, addr)
			}
			for _, n := range s.Nodes {
				if fmt.Sprint(n.Port) == addr[1] {
					now = n
				}
			}
		}
		if now == nil {
			return fmt.Errorf("unknown master")
		}
		return s.replicaInSync(ctx, now, replicas)
	})
	return now, err
}

// replicaInSync checks master answers as master with at least n online replicas.
func (s *Sentinel) replicaInSync(ctx context.Context, master *Node, n int) error {
	rdb := client(master.Addr)
	repl, err := rdb.Info(ctx, "replication").Result()
	_ = rdb.Close()
	if err != nil {
		return err
	}
	if !strings.Contains(repl, "role:master") || strings.Count(repl, "state=online") < n {
		return fmt.Errorf("%s: not a master with %d online replicas", master.Addr, n)
	}
	return nil
}
