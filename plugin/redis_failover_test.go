// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/redisserver"
	"github.com/credgate/credgate/internal/testcluster"
)

// TestRevocationsReachVMsAcrossRedisFailover runs two token cluster
// processes on one Redis deployment (a Redis Cluster, then Sentinel), the
// plugin's VMs following the feed of one of them, and fails Redis over while
// a credential is revoked through the other: the revocation is acknowledged
// once Redis has it on a replica, every VM refuses the credential, and both
// token clusters answer the same revocation cursor before and after.
func TestRevocationsReachVMsAcrossRedisFailover(t *testing.T) {
	t.Run("redis cluster, feed master killed", func(t *testing.T) {
		rc := redisserver.StartCluster(t, 3, 1)
		revocationFailover(t, []string{"--redis-cluster", strings.Join(rc.Addrs(), ",")}, func(t *testing.T) {
			ctx := context.Background()
			master, err := rc.MasterOf(ctx, "{tc:rev}") // the feed's slot under the default prefix
			if err != nil {
				t.Error(err)
				return
			}
			master.Kill()
			t.Logf("killed the feed's master %s", master.Addr)
			for deadline := time.Now().Add(20 * time.Second); ; {
				if m, err := rc.MasterOf(ctx, "{tc:rev}"); err == nil && m != master {
					t.Logf("%s took over the feed's slot", m.Addr)
					break
				}
				if time.Now().After(deadline) {
					t.Error("no replica took over")
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err := master.Restart(); err != nil { // rejoins as the new master's replica
				t.Error(err)
				return
			}
			if err := rc.WaitHealthy(ctx, 20*time.Second); err != nil {
				t.Error(err)
			}
		})
	})
	t.Run("sentinel, SENTINEL FAILOVER", func(t *testing.T) {
		rs := redisserver.StartSentinel(t, 1)
		revocationFailover(t, []string{"--redis-sentinel", strings.Join(rs.SentinelAddrs(), ","), "--redis-master", redisserver.MasterName},
			func(t *testing.T) {
				m, err := rs.Failover(context.Background(), 40*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				t.Logf("%s is master", m.Addr)
			})
	})
}

func revocationFailover(t *testing.T, redisFlags []string, failover func(t *testing.T)) {
	a := testcluster.Start(t, seedFile, redisFlags...)
	b := testcluster.Start(t, seedFile, redisFlags...)
	sameCursor(t, a, b)
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(clusterConfig)).WithCluster("token_cluster", a.URL).WithVMs(2).WithAutoTick(true)
	e := &clusterEnv{tc: a, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}

	during := newAPIKey(t, b, "during")
	warmCache(t, e, "/Supplier/Products/List", "ApiKey", during, "x-tenant", "acme")
	done := make(chan struct{})
	began := time.Now()
	go func() { defer close(done); failover(t) }()
	// Revoke through the other replica while Redis fails over (a second in,
	// when the master is gone or being replaced): refused (5xx) until the
	// write is on a replica, then acknowledged.
	time.Sleep(time.Second)
	attempts := 0
	for {
		attempts++
		st, body := b.Admin(t, "DELETE", "/admin/v1/api-keys/during", "")
		if st == 200 {
			break
		}
		if st < 500 || time.Since(began) > 45*time.Second {
			t.Fatalf("revoke during the failover: %d %s", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	acked := time.Now()
	t.Logf("revocation acknowledged %s after the failover began (%d attempts)", acked.Sub(began).Round(time.Millisecond), attempts)
	everyVMRefuses(t, e, during, 30*time.Second)
	t.Logf("every VM refuses the key revoked during the failover, %s after it was acknowledged", time.Since(acked).Round(time.Millisecond))
	<-done
	if t.Failed() {
		return
	}
	t.Logf("failover complete after %s", time.Since(began).Round(time.Millisecond))

	after := newAPIKey(t, b, "after")
	warmCache(t, e, "/Supplier/Products/List", "ApiKey", after, "x-tenant", "acme")
	if st, body := b.Admin(t, "DELETE", "/admin/v1/api-keys/after", ""); st != 200 {
		t.Fatalf("revoke after the failover: %d %s", st, body)
	}
	revoked := time.Now()
	everyVMRefuses(t, e, after, 2*time.Second)
	t.Logf("after the failover every VM refused a revoked key within %s", time.Since(revoked).Round(time.Millisecond))
	sameCursor(t, a, b)
	if st, body := b.Admin(t, "GET", "/admin/v1/api-keys/during", ""); st != 200 || !strings.Contains(string(body), `"revoked":true`) {
		t.Fatalf("the key revoked during the failover reads %d %s", st, body)
	}
}

// newAPIKey creates an acme API key through c and returns its secret.
func newAPIKey(t *testing.T, c *testcluster.Cluster, id string) string {
	t.Helper()
	st, body := c.Admin(t, "POST", "/admin/v1/api-keys", fmt.Sprintf(`{"id":%q,"tenant":"acme","scopes":["catalog:read"]}`, id))
	if st != 201 {
		t.Fatalf("create api key %s: %d %s", id, st, body)
	}
	var v struct {
		Secrets struct {
			Secret string `json:"secret"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Secrets.Secret == "" {
		t.Fatalf("create api key %s: no secret in %s (%v)", id, body, err)
	}
	return v.Secrets.Secret
}

// everyVMRefuses sends requests with key until each VM has answered 401.
func everyVMRefuses(t *testing.T, e *clusterEnv, key string, within time.Duration) {
	t.Helper()
	refused := map[int]bool{}
	deadline := time.Now().Add(within)
	for len(refused) < e.host.VMs() {
		res := e.call(t, "GET", "/Supplier/Products/List", "ApiKey", key, "x-tenant", "acme")
		if res.LocalResponse != nil && res.LocalResponse.Status == 401 {
			refused[res.VM] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s only VMs %v refuse the revoked key", within, refused)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameCursor checks both token clusters answer the same revocation cursor
// and the same entries from the start of the feed.
func sameCursor(t *testing.T, a, b *testcluster.Cluster) {
	t.Helper()
	get := func(c *testcluster.Cluster, path string) string {
		st, body := c.Do(t, "GET", path, "", "", "Authorization", "Bearer "+testcluster.VerifyToken)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
		return string(body)
	}
	var h struct{ Next string }
	if err := json.Unmarshal([]byte(get(a, "/v1/revocations")), &h); err != nil || !strings.Contains(h.Next, ":") {
		t.Fatalf("head %q: %v", h.Next, err)
	}
	first := h.Next[:strings.IndexByte(h.Next, ':')] + ":0:" // the feed's start, in its epoch (no entry: no tag)
	for _, path := range []string{"/v1/revocations", "/v1/revocations?since=" + first + "&limit=1000"} {
		if ha, hb := get(a, path), get(b, path); ha != hb {
			t.Fatalf("the token clusters disagree on %s:\n%s\n%s", path, ha, hb)
		}
	}
	t.Logf("both token clusters answer %s", get(a, "/v1/revocations"))
}
