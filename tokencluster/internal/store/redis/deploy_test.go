// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"errors"
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
	t.Run("round trips of a verification's read", func(t *testing.T) {
		s := open(t, clusterOptions(c, "rt:"))
		defer s.Close()
		// The token and each collection hash live in slots of their own, and
		// a script touches one slot: the token is one round trip, then each
		// level of records one pipeline (to every master of the level, in
		// parallel): the owner or the records asked for, their tenants and
		// developers, the developers' tenants.
		want := map[string]int64{"oauth2": 4, "session": 3, "api_key": 2, "user_api_key": 3, "public_key": 2,
			"public_key_token": 3, "domain_key": 2, "hmac_key": 2, "sso": 3}
		got := countReads(t, s)
		for kind, n := range got {
			if n != want[kind] {
				t.Errorf("%s: %d round trips, want %d", kind, n, want[kind])
			}
		}
		t.Logf("round trips per read on a Redis Cluster: %v", got)
	})
	t.Run("tokens spread over every master", func(t *testing.T) {
		s := open(t, clusterOptions(c, "spread:"))
		defer s.Close()
		ctx := context.Background()
		masters := map[string]bool{}
		for i := range 64 {
			d := fmt.Sprint("d", i)
			if err := s.PutToken(ctx, store.Token{Digest: d, ExpiresAt: storetest.T0.Add(time.Hour).Unix()}, storetest.T0); err != nil {
				t.Fatal(err)
			}
			m, err := c.MasterOf(ctx, "{spread:tok:"+d+"}")
			if err != nil {
				t.Fatal(err)
			}
			masters[m.Addr] = true
		}
		if len(masters) != 3 {
			t.Fatalf("64 tokens landed on %d masters, want all 3", len(masters))
		}
	})
	t.Run("failover of the feed's master under load", func(t *testing.T) {
		ctx := context.Background()
		s := open(t, clusterOptions(c, "fo:"))
		defer s.Close()
		master, err := c.MasterOf(ctx, "{fo:rev}")
		if err != nil {
			t.Fatal(err)
		}
		replica, err := c.ReplicaOf(ctx, master)
		if err != nil {
			t.Fatal(err)
		}
		l := startLoad(t, s, 4)
		done := make(chan struct{})
		defer close(done)
		progress(t, l, done)
		time.Sleep(time.Second)
		killed := time.Now()
		master.Kill()
		fmt.Printf("    %s: killed the feed's master %s (SIGKILL); its replica %s should take over\n", t.Name(), master.Addr, replica.Addr)
		now, err := waitMaster(ctx, c, "{fo:rev}", master, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("    %s: %s is master after %s; restarting %s, which rejoins as its replica\n", t.Name(), now.Addr,
			time.Since(killed).Round(time.Millisecond), master.Addr)
		if err := master.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitHealthy(ctx, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		l.finish(t, killed)
	})
}

// waitMaster waits until a node other than old is master of key's slot.
func waitMaster(ctx context.Context, c *redisserver.Cluster, key string, old *redisserver.Node, within time.Duration) (*redisserver.Node, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m, err := c.MasterOf(ctx, key); err == nil && m != old {
			return m, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("no new master for %s within %s", key, within)
}

// TestRedisSentinel runs the conformance suite on a Sentinel-managed master
// and its replica, then fails the master over under load. The store waits for
// every replica (one), so whichever is promoted has each acknowledged write;
// writes fail from the promotion until the old master has been turned into a
// replica (about 10 s with Sentinel's fixed delays), see "Durability" in
// tokencluster/README.md.
func TestRedisSentinel(t *testing.T) {
	s := redisserver.StartSentinel(t, 1)
	var n atomic.Int64
	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, sentinelOptions(s, fmt.Sprintf("s%d:", n.Add(1)))) })
	})
	t.Run("a verification's read is one round trip", func(t *testing.T) {
		st := open(t, sentinelOptions(s, "rt:"))
		defer st.Close()
		for kind, n := range countReads(t, st) {
			if n != 1 {
				t.Errorf("%s: %d round trips, want 1", kind, n)
			}
		}
	})
	t.Run("a write no replica acknowledged fails", func(t *testing.T) {
		ctx := context.Background()
		o := sentinelOptions(s, "nr:")
		o.WaitTimeout = 300 * time.Millisecond
		st := open(t, o)
		defer st.Close()
		o.WaitReplicas = 0
		async := open(t, o)
		defer async.Close()
		master, err := s.Master(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range s.Nodes {
			if n != master {
				n.Pause()
				defer n.Resume()
			}
		}
		_, err = st.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: "while-paused"})
		_, asyncErr := async.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: "async"})
		for _, n := range s.Nodes {
			n.Resume()
		}
		if !errors.Is(err, redis.ErrNotReplicated) {
			t.Fatalf("append with a stalled replica = %v, want ErrNotReplicated", err)
		}
		if asyncErr != nil {
			t.Fatalf("without WAIT the append is acknowledged by the master alone, got %v", asyncErr)
		}
		if _, err := st.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: "after"}); err != nil {
			t.Fatalf("append after the replica resumed: %v", err)
		}
	})
	t.Run("failover under load", func(t *testing.T) {
		ctx := context.Background()
		st := open(t, sentinelOptions(s, "fo:"))
		defer st.Close()
		l := startLoad(t, st, 4)
		done := make(chan struct{})
		defer close(done)
		progress(t, l, done)
		time.Sleep(time.Second)
		old, err := s.Master(ctx)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		now, err := s.Failover(ctx, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("    %s: SENTINEL FAILOVER: %s → %s in %s, the old master replicates from the new one\n", t.Name(),
			old.Addr, now.Addr, time.Since(began).Round(time.Millisecond))
		time.Sleep(time.Second)
		l.finish(t, began)
	})
	t.Run("master killed under load", func(t *testing.T) {
		ctx := context.Background()
		st := open(t, sentinelOptions(s, "kill:"))
		defer st.Close()
		l := startLoad(t, st, 4)
		done := make(chan struct{})
		defer close(done)
		progress(t, l, done)
		time.Sleep(time.Second)
		old, err := s.Master(ctx)
		if err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		old.Kill()
		fmt.Printf("    %s: killed the master %s (SIGKILL)\n", t.Name(), old.Addr)
		now, err := s.WaitPromoted(ctx, old, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// Only now: a master without persistence restarted before the
		// promotion would come back empty and its replica would copy that.
		fmt.Printf("    %s: sentinels promoted %s after %s; restarting %s, which they turn into its replica\n", t.Name(),
			now.Addr, time.Since(killed).Round(time.Millisecond), old.Addr)
		if err := old.Restart(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitNewMaster(ctx, old, 40*time.Second); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("    %s: %s has a replica again %s after the kill\n", t.Name(), now.Addr, time.Since(killed).Round(time.Millisecond))
		time.Sleep(time.Second)
		l.finish(t, killed)
	})
}
