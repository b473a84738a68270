// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
	"github.com/credgate/credgate/internal/testcluster"
)

// TestSharedDataIsBounded: proxy-wasm cannot delete shared data, so every
// key the plugin writes stays for good. Thousands of distinct HMAC
// signatures (each a replay marker) and distinct OAuth tokens (each a shared
// answer) must leave the number of keys under the configured bounds, while
// replays are still refused and answers still shared.
func TestSharedDataIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 12,000 requests")
	}
	const sharedSlots, replaySlots, tokens = 64, 128, 400
	signatures := 10000
	if n, err := strconv.Atoi(os.Getenv("CREDGATE_SHARED_SIGNATURES")); err == nil && n > 0 {
		signatures = n // e.g. 100000 for the full measurement
	}
	config := strings.Replace(clusterConfig, `"cache": {"negative_ttl_seconds": 1}`,
		`"cache": {"negative_ttl_seconds": 1, "shared_slots": 64, "replay_slots": 128}`, 1)
	config = strings.Replace(config, `"options": {"hmac": {"replay_protection": true}}`,
		`"options": {"hmac": {"replay_protection": true, "window_seconds": 30}}`, 1)
	// Each signed request happens one second after the last, so every
	// signature is new and markers expire as they would over hours (the
	// tokens are used first, while the cluster's and the plugin's clocks
	// agree).
	var tick atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(tick.Load()) * time.Second) }
	tc := testcluster.Start(t, seedFile)
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte(config)).WithCluster("token_cluster", tc.URL).WithVMs(2).
		WithAutoTick(true).WithClock(now)
	e := &clusterEnv{tc: tc, host: newWasmHost(t, hostcalls.ProfileEnvoy139, cfg)}
	waitCursor(t, e)
	keys0, _ := e.host.SharedDataStats()
	for i := 0; i < tokens; i++ {
		tok := e.oauthToken(t, "")
		expectUpstream(t, e.call(t, "GET", "/v1/designs/1", "authorization", "Bearer "+tok), nil)
		// The other VM answers from the shared layer or the cluster alike.
		expectUpstream(t, e.call(t, "GET", "/v1/designs/1", "authorization", "Bearer "+tok), nil)
	}
	var last []string
	for i := 0; i < signatures; i++ {
		tick.Add(1)
		last = hmacHeaders("user-42", "demo-user-hmac-key", now())
		if res := e.call(t, "GET", "/v2/accountvaults", last...); res.Upstream == nil {
			logs := e.host.Logs()
			for _, l := range logs[max(0, len(logs)-5):] {
				t.Log(l.Message)
			}
			t.Fatalf("signature %d refused: %s", i, res.LocalResponse.Body)
		}
	}
	expectDenied(t, e.call(t, "GET", "/v2/accountvaults", last...), 401, "")
	keys, bytes := e.host.SharedDataStats()
	if bound := keys0 + sharedSlots + replaySlots; keys > bound {
		t.Fatalf("%d shared data keys after %d signatures and %d tokens, bound %d", keys, signatures, tokens, bound)
	}
	if bytes > (sharedSlots+replaySlots)*1024+keys0*256 {
		t.Fatalf("%d bytes of shared data", bytes)
	}
	t.Logf("%d signatures and %d tokens: %d shared data keys (%d before), %d bytes", signatures, tokens, keys, keys0, bytes)
}
