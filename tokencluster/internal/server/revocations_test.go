// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// feedAnswer is a decoded GET /v1/revocations.
type feedAnswer struct {
	tokenapi.RevocationsResponse
	took time.Duration
}

func getFeed(t *testing.T, base, query string) feedAnswer {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(base + tokenapi.PathRevocations + "?" + query)
	if err != nil {
		t.Error(err)
		return feedAnswer{}
	}
	defer resp.Body.Close()
	var a feedAnswer
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET ?%s: status %d", query, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&a.RevocationsResponse); err != nil {
		t.Error(err)
	}
	a.took = time.Since(start)
	return a
}

// TestRevocationLongPoll: a held call answers as soon as a revocation is
// written, through this replica or another one on the same store, and an
// idle one answers empty at the end of its wait. Durations are compared
// with the wait, which is many times longer, never asserted alone.
func TestRevocationLongPoll(t *testing.T) {
	t.Parallel()
	t.Run("bbolt, one replica", func(t *testing.T) {
		e := newEnv(t, func(o *server.Options) { o.RevocationWatch = 20 * time.Millisecond })
		testLongPoll(t, e, e.url)
	})
	t.Run("redis, revoked through another replica", func(t *testing.T) {
		url := redisserver.Start(t)
		e := newEnvOn(t, openRedisPrefix(t, url, "replicas:"), func(o *server.Options) { o.RevocationWatch = 20 * time.Millisecond })
		// A second replica on the same Redis keys (another client, same prefix).
		st := openRedisPrefix(t, url, "replicas:")
		t.Cleanup(func() { _ = st.Close() })
		other, err := server.New(server.Options{Store: st, OpenVerify: true, AdminToken: adminToken,
			RevocationWatch: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(other)
		t.Cleanup(hs.Close)
		testLongPoll(t, e, hs.URL)
	})
}

func testLongPoll(t *testing.T, revoker *env, follower string) {
	head := getFeed(t, follower, "").Next
	idle := getFeed(t, follower, "since="+head+"&wait=1")
	if len(idle.Revocations) != 0 || idle.Next != head || idle.took < 900*time.Millisecond {
		t.Fatalf("idle long-poll: %+v after %v, want empty after the 1s wait", idle, idle.took)
	}
	done := make(chan feedAnswer, 1)
	go func() { done <- getFeed(t, follower, "since="+head+"&wait=30") }()
	time.Sleep(200 * time.Millisecond) // the call is held
	wantStatus(t, revoker.admin(http.MethodDelete, "/api-keys/demo-key", ""), http.StatusOK)
	select {
	case a := <-done:
		if len(a.Revocations) != 1 || a.Revocations[0].Digest != tokenapi.Digest("demo-api-key-0001") || a.Behind {
			t.Fatalf("woken long-poll: %+v", a)
		}
		if a.took > 15*time.Second {
			t.Fatalf("the revocation took %v of a 30s wait", a.took)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the held call was not woken by the revocation")
	}
	// Entries already there: answered at once, even with a wait.
	if a := getFeed(t, follower, "since="+head+"&wait=30"); len(a.Revocations) != 1 || a.took > 15*time.Second {
		t.Fatalf("long-poll with entries pending: %+v after %v", a, a.took)
	}
}

// TestRevocationFeedBehind: compaction by count moves the floor; a cursor
// below it is told behind (never an empty page), with next at the head, and
// a cursor at the floor still follows.
func TestRevocationFeedBehind(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		e := newEnvOn(t, st, func(o *server.Options) { o.RevocationMaxEntries = 1 })
		for _, p := range []string{"/api-keys/demo-key", "/domains/shop.acme.test", "/apps/demo-public-key"} {
			wantStatus(t, e.admin(http.MethodDelete, p, ""), http.StatusOK)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { e.server.RunFeed(ctx); close(ran) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, feed, err := st.Revocations(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if feed.Floor == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not compacted: %+v", feed)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-ran
		tests := []struct {
			since  uint64
			behind bool
			n      int
		}{{0, true, 0}, {1, true, 0}, {2, false, 1}, {3, false, 0}, {4, true, 0}}
		for _, tc := range tests {
			a := getFeed(t, e.url, "since="+strconv.FormatUint(tc.since, 10)+"&wait=5")
			if a.Behind != tc.behind || len(a.Revocations) != tc.n || a.Next != "3" {
				t.Errorf("since=%d: %+v, want behind %v, %d entries, next 3", tc.since, a.RevocationsResponse, tc.behind, tc.n)
			}
			if a.took > 4*time.Second {
				t.Errorf("since=%d was held %v: behind and pending answers are immediate, and RunFeed ended", tc.since, a.took)
			}
		}
	})
}

func TestRevocationFeedOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*server.Options)
	}{
		{"max age under the cache TTL", func(o *server.Options) { o.RevocationMaxAge = 10 * time.Minute }},
		{"max age under cache TTL plus margin", func(o *server.Options) { o.CacheTTL = time.Hour; o.RevocationMaxAge = time.Hour }},
		{"wait beyond the wire maximum", func(o *server.Options) { o.RevocationMaxWait = time.Hour }},
		{"watch slower than a second", func(o *server.Options) { o.RevocationWatch = 2 * time.Second }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := server.Options{Store: openBolt(t), OpenVerify: true}
			tc.mod(&o)
			if _, err := server.New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestRevocationLongPollOutlivesServerTimeouts: a hold longer than the
// server's read and write timeouts (the service runs with 10 s) still
// answers, since the handler moves the connection's deadlines.
func TestRevocationLongPollOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: e.server, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	a := getFeed(t, "http://"+ln.Addr().String(), "since=0&wait=1")
	if a.Next != "0" || a.took < 900*time.Millisecond {
		t.Fatalf("held call: %+v after %v, want an empty answer after the 1 s wait", a.RevocationsResponse, a.took)
	}
}

// TestRevocationLongPollReleasedOnShutdown: when RunFeed's context ends (the
// process is shutting down), held calls answer at once, so the drain does not
// wait for them.
func TestRevocationLongPollReleasedOnShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { e.server.RunFeed(ctx); close(ran) }()
	done := make(chan feedAnswer, 1)
	go func() { done <- getFeed(t, e.url, "since=0&wait=300") }()
	time.Sleep(300 * time.Millisecond) // the call is held
	select {
	case a := <-done:
		t.Fatalf("answered before the shutdown: %+v", a)
	default:
	}
	cancel()
	<-ran
	select {
	case a := <-done:
		if a.Next != "0" || len(a.Revocations) != 0 {
			t.Fatalf("released call: %+v", a.RevocationsResponse)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held call was not released by the shutdown")
	}
}
