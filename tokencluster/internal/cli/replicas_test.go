// SPDX-License-Identifier: Apache-2.0

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/cli"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

const adminToken = "cli-test-admin-token-0123456789"

// TestReplicasShareTheRevocationCursor runs two token cluster replicas on one
// Redis Cluster, and on one Sentinel deployment, revokes keys through both
// while a follower polls the feed from whichever replica comes next (as the
// plugin does behind Envoy's round robin): the follower sees every revocation
// exactly once, in order, and both replicas answer the same cursor.
func TestReplicasShareTheRevocationCursor(t *testing.T) {
	t.Run("redis cluster", func(t *testing.T) {
		rc := redisserver.StartCluster(t, 3, 1)
		shareCursor(t, "--redis-cluster", strings.Join(rc.Addrs(), ","))
	})
	t.Run("sentinel", func(t *testing.T) {
		rs := redisserver.StartSentinel(t, 1)
		shareCursor(t, "--redis-sentinel", strings.Join(rs.SentinelAddrs(), ","), "--redis-master", redisserver.MasterName)
	})
}

func shareCursor(t *testing.T, redisFlags ...string) {
	var out bytes.Buffer
	if code := cli.Main(context.Background(), append([]string{"seed", "-f", seedFile, "--bcrypt-cost", "4"}, redisFlags...),
		&out, &out); code != 0 {
		t.Fatalf("seed exited %d: %s", code, out.String())
	}
	var replicas []string
	for range 2 {
		base, stop := serve(t, append([]string{"--admin-token", adminToken, "--bcrypt-cost", "4"}, redisFlags...)...)
		defer stop()
		replicas = append(replicas, base)
	}
	const keys = 20
	for i := range keys {
		if st, body := call(t, replicas[i%2], "POST", "/admin/v1/api-keys", adminToken,
			fmt.Sprintf(`{"id":"k%d","tenant":"acme","scopes":["catalog:read"]}`, i)); st != 201 {
			t.Fatalf("create k%d: %d %s", i, st, body)
		}
	}
	start := head(t, replicas[0])
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range keys {
			if st, body := call(t, replicas[(i+1)%2], "DELETE", fmt.Sprintf("/admin/v1/api-keys/k%d", i), adminToken, ""); st != 200 {
				t.Errorf("revoke k%d: %d %s", i, st, body)
			}
		}
	})
	cursor, seen := start, 0
	for poll := 0; seen < keys; poll++ {
		if poll > 2000 {
			t.Fatalf("after %d polls the follower saw %d of %d revocations", poll, seen, keys)
		}
		st, body := call(t, replicas[poll%2], "GET", "/v1/revocations?since="+cursor.String()+"&limit=7", verifyToken, "")
		if st != 200 {
			t.Fatalf("poll: %d %s", st, body)
		}
		var resp struct {
			Revocations []json.RawMessage `json:"revocations"`
			Next        string            `json:"next"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		next, ok := store.ParseCursor(resp.Next)
		if !ok || next.Epoch != cursor.Epoch || next.Seq != cursor.Seq+uint64(len(resp.Revocations)) {
			t.Fatalf("cursor %s + %d entries answered next %q", cursor, len(resp.Revocations), resp.Next)
		}
		cursor, seen = next, seen+len(resp.Revocations)
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if seen != keys {
		t.Fatalf("follower saw %d revocations, want %d", seen, keys)
	}
	for _, r := range replicas {
		if h := head(t, r); h != cursor {
			t.Fatalf("replica %s answers head %s, the follower is at %s", r, h, cursor)
		}
	}
	t.Logf("a follower alternating between both replicas read revocations %d..%d exactly once", start.Seq+1, cursor.Seq)
}

func head(t *testing.T, base string) store.Cursor {
	t.Helper()
	st, body := call(t, base, "GET", "/v1/revocations", verifyToken, "")
	var resp struct{ Next string }
	if err := json.Unmarshal(body, &resp); st != 200 || err != nil {
		t.Fatalf("head: %d %s", st, body)
	}
	c, ok := store.ParseCursor(resp.Next)
	if !ok || c.Epoch == "" {
		t.Fatalf("head: cursor %q is not <epoch>:<seq>:<tag>", resp.Next)
	}
	return c
}

func call(t *testing.T, base, method, path, token, body string) (int, []byte) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestRedisPasswordFromEnvironment: a Redis with requirepass is reached with
// the password from the environment, refused without it, and the password
// appears in no log line or error.
func TestRedisPasswordFromEnvironment(t *testing.T) {
	const password = "redis-pw-0123456789-secret"
	n := redisserver.StartNode(t, "requirepass "+password+"\n")
	url := "redis://" + n.Addr + "/0"
	t.Setenv("TOKENCLUSTER_REDIS_PASSWORD", "")
	var out bytes.Buffer
	if code := cli.Main(context.Background(), []string{"seed", "-f", seedFile, "--redis", url, "--bcrypt-cost", "4"}, &out, &out); code == 0 ||
		!strings.Contains(out.String(), "NOAUTH") {
		t.Fatalf("seed without the password: exit %d, %s", code, out.String())
	}
	t.Setenv("TOKENCLUSTER_REDIS_PASSWORD", password)
	out.Reset()
	if code := cli.Main(context.Background(), []string{"seed", "-f", seedFile, "--redis", url, "--bcrypt-cost", "4"}, &out, &out); code != 0 {
		t.Fatalf("seed with the password: exit %d, %s", code, out.String())
	}
	if strings.Contains(out.String(), password) {
		t.Fatalf("the password was printed: %s", out.String())
	}
	out.Reset()
	if code := cli.Main(context.Background(), []string{"seed", "-f", seedFile, "--redis", "redis://:" + password + "@" + n.Addr + "/0"}, &out, &out); code == 0 ||
		strings.Contains(out.String(), password) {
		t.Fatalf("a password in the URL: exit %d, %s", code, out.String())
	}
}
