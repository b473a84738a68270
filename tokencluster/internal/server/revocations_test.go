// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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
		_, feed, err := st.Revocations(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		head := feed.At(3).String()
		tests := []struct {
			name   string
			since  string
			behind bool
			n      int
		}{
			{"below the floor", feed.At(0).String(), true, 0},
			{"below the floor", feed.At(1).String(), true, 0},
			{"at the floor", feed.At(2).String(), false, 1},
			{"at the head", head, false, 0},
			{"past the head", feed.At(4).String(), true, 0},
			{"another epoch", store.Cursor{Epoch: "0123456789abcdef", Seq: 2}.String(), true, 0},
			{"a bare sequence", "2", true, 0},
		}
		for _, tc := range tests {
			a := getFeed(t, e.url, "since="+tc.since+"&wait=5")
			if a.Behind != tc.behind || len(a.Revocations) != tc.n || a.Next != head {
				t.Errorf("%s (since=%s): %+v, want behind %v, %d entries, next %s", tc.name, tc.since, a.RevocationsResponse, tc.behind, tc.n, head)
			}
			if a.took > 4*time.Second {
				t.Errorf("%s (since=%s) was held %v: behind and pending answers are immediate, and RunFeed ended", tc.name, tc.since, a.took)
			}
		}
	})
}

// resetFeed serves the revocation feed from a store that a test can replace
// by another (a feed made again: Redis keys lost in a failover, a bbolt
// restore, a reset), the rest from the first one.
type resetFeed struct {
	store.Store
	mu   sync.Mutex
	feed store.Store
}

func (r *resetFeed) cur() store.Store {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.feed
}

func (r *resetFeed) reset(to store.Store) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.feed = to
}

func (r *resetFeed) AppendRevocation(ctx context.Context, rev store.Revocation) (uint64, error) {
	return r.cur().AppendRevocation(ctx, rev)
}

func (r *resetFeed) Revocations(ctx context.Context, since uint64, limit int) ([]store.Revocation, store.Feed, error) {
	return r.cur().Revocations(ctx, since, limit)
}

func (r *resetFeed) CompactRevocations(ctx context.Context, before int64, keep int) (int, error) {
	return r.cur().CompactRevocations(ctx, before, keep)
}

// TestRevocationFeedMadeAgain: the feed loses its newest append and is made
// again (a failover to a node without the feed, a restore, a reset): the new
// feed has a new epoch and reuses the sequence numbers, so that a VM's
// cursor names a position the new feed has too. The VM is told behind, on a
// held long-poll (woken by the watcher) as on a new call, and follows on
// from the new head; it is never answered "nothing new".
func TestRevocationFeedMadeAgain(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		ctx := context.Background()
		base := open(t)
		st := &resetFeed{Store: base, feed: base}
		e := newEnvOn(t, st, func(o *server.Options) { o.RevocationWatch = 20 * time.Millisecond })
		for _, p := range []string{"/api-keys/demo-key", "/domains/shop.acme.test"} {
			wantStatus(t, e.admin(http.MethodDelete, p, ""), http.StatusOK)
		}
		cursor := getFeed(t, e.url, "").Next // the VM has seen both
		if a := getFeed(t, e.url, "since="+cursor); a.Behind || len(a.Revocations) != 0 || a.Next != cursor {
			t.Fatalf("following at the head: %+v", a.RevocationsResponse)
		}
		held := make(chan feedAnswer, 1)
		go func() { held <- getFeed(t, e.url, "since="+cursor+"&wait=30") }()
		time.Sleep(200 * time.Millisecond) // the call is held

		// The feed is made again, with two revocations that reuse sequences
		// 1 and 2 (the replica promoted in a failover had them, not ours).
		again := open(t)
		for _, d := range []string{"lost-1", "lost-2"} {
			if _, err := again.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: d, At: t0.Unix()}); err != nil {
				t.Fatal(err)
			}
		}
		st.reset(again)
		_, feed, err := again.Revocations(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if old, _ := store.ParseCursor(cursor); old.Seq != feed.Head || old.Epoch == feed.Epoch {
			t.Fatalf("the test does not reuse the cursor's sequence: cursor %s, new feed %+v", cursor, feed)
		}
		head := feed.At(feed.Head).String()
		select {
		case a := <-held:
			if !a.Behind || len(a.Revocations) != 0 || a.Next != head {
				t.Fatalf("held call after the feed was made again: %+v, want behind with next %s", a.RevocationsResponse, head)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the held call was not woken when the feed was made again")
		}
		for _, q := range []string{"since=" + cursor, "since=" + cursor + "&wait=30"} {
			if a := getFeed(t, e.url, q); !a.Behind || a.Next != head || a.took > 15*time.Second {
				t.Errorf("?%s after the feed was made again: %+v after %v, want behind at once with next %s", q, a.RevocationsResponse, a.took, head)
			}
		}
		// From the new head on, the VM follows the new feed.
		if a := getFeed(t, e.url, "since="+feed.At(0).String()); a.Behind || len(a.Revocations) != 2 || a.Revocations[1].Digest != "lost-2" {
			t.Errorf("following the new feed from 0: %+v", a.RevocationsResponse)
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
	head := getFeed(t, "http://"+ln.Addr().String(), "").Next
	a := getFeed(t, "http://"+ln.Addr().String(), "since="+head+"&wait=1")
	if a.Next != head || a.Behind || a.took < 900*time.Millisecond {
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
	head := getFeed(t, e.url, "").Next
	done := make(chan feedAnswer, 1)
	go func() { done <- getFeed(t, e.url, "since="+head+"&wait=300") }()
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
		if a.Next != head || a.Behind || len(a.Revocations) != 0 {
			t.Fatalf("released call: %+v", a.RevocationsResponse)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held call was not released by the shutdown")
	}
}

// TestRevocationLongPollsShareAnswers: many calls held at one cursor, with
// two limits, are woken by the same revocations. Each gets the answer for
// its own cursor and limit (entries in order right after the cursor, at most
// limit, next at the last one, in the feed's epoch), although the answers
// are encoded once and shared.
func TestRevocationLongPollsShareAnswers(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		ctx := context.Background()
		st := open(t)
		e := newEnvOn(t, st, func(o *server.Options) { o.RevocationWatch = 50 * time.Millisecond })
		head := getFeed(t, e.url, "").Next
		at, ok := store.ParseCursor(head)
		if !ok {
			t.Fatalf("head %q", head)
		}
		const held = 40
		type answer struct {
			limit int
			a     feedAnswer
		}
		answers := make(chan answer, held)
		for i := range held {
			limit := []int{1, 500}[i%2]
			go func() {
				answers <- answer{limit, getFeed(t, e.url, fmt.Sprintf("since=%s&limit=%d&wait=30", head, limit))}
			}()
		}
		time.Sleep(300 * time.Millisecond) // every call is held
		digests := []string{"r1", "r2", "r3"}
		for _, d := range digests {
			if _, err := st.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: d, At: t0.Unix()}); err != nil {
				t.Fatal(err)
			}
		}
		for range held {
			var got answer
			select {
			case got = <-answers:
			case <-time.After(20 * time.Second):
				t.Fatal("a held call was not woken")
			}
			a := got.a
			n := len(a.Revocations)
			if a.Behind || n == 0 || n > got.limit || a.took > 15*time.Second {
				t.Fatalf("limit %d: %+v after %v", got.limit, a.RevocationsResponse, a.took)
			}
			for i, r := range a.Revocations {
				if r.Digest != digests[i] {
					t.Fatalf("limit %d: entry %d is %s, want %s (%+v)", got.limit, i, r.Digest, digests[i], a.RevocationsResponse)
				}
			}
			last := store.Revocation{Seq: at.Seq + uint64(n), Kind: "api_key", Digest: digests[n-1]}
			if want := (store.Cursor{Epoch: at.Epoch, Seq: last.Seq, Tag: store.EntryTag(at.Epoch, last)}).String(); a.Next != want {
				t.Fatalf("limit %d: next %s after %d entries from %s, want %s", got.limit, a.Next, n, head, want)
			}
		}
	})
}

// memFeed is a revocation feed in memory whose newest entries a test can
// drop, as a failover to a replica that lacked them would, keeping the epoch.
type memFeed struct {
	store.Store // not called: resetFeed serves the rest from its own store
	mu          sync.Mutex
	epoch       string
	entries     []store.Revocation
}

func (m *memFeed) AppendRevocation(_ context.Context, r store.Revocation) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Seq = uint64(len(m.entries) + 1)
	m.entries = append(m.entries, r)
	return r.Seq, nil
}

func (m *memFeed) Revocations(_ context.Context, since uint64, limit int) ([]store.Revocation, store.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	feed := store.Feed{Epoch: m.epoch, Head: uint64(len(m.entries))}
	if feed.Head > 0 {
		feed.Tag = store.EntryTag(m.epoch, m.entries[feed.Head-1])
	}
	if since > 0 && since <= feed.Head {
		feed.SinceTag = store.EntryTag(m.epoch, m.entries[since-1])
	}
	var out []store.Revocation
	for _, e := range m.entries {
		if e.Seq > since && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, feed, nil
}

func (m *memFeed) CompactRevocations(context.Context, int64, int) (int, error) { return 0, nil }

func (m *memFeed) lose(n int) { m.replace(n) }

// replace drops the newest n entries and appends digests in their place at
// once, as a failover that lost n unreplicated appends followed by appends
// on the new master: readers see the feed only after both.
func (m *memFeed) replace(n int, digests ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = m.entries[:len(m.entries)-n]
	for _, d := range digests {
		m.entries = append(m.entries, store.Revocation{Seq: uint64(len(m.entries) + 1), Kind: "api_key", Digest: d})
	}
}

// TestRevocationLongPollFeedWentBack: a call is held at the head, and the
// feed loses its newest entry (same epoch): the held call is told behind
// as soon as the watcher sees the shorter feed, rather than held until the
// head passes its cursor again, which would skip the entry that reuses the
// lost one's sequence number.
func TestRevocationLongPollFeedWentBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := openBolt(t)
	feed := &memFeed{epoch: "0123456789abcdef"}
	st := &resetFeed{Store: base, feed: feed}
	e := newEnvOn(t, st, func(o *server.Options) { o.RevocationWatch = 20 * time.Millisecond })
	for _, d := range []string{"r1", "r2", "r3"} {
		if _, err := feed.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: d}); err != nil {
			t.Fatal(err)
		}
	}
	cursor := getFeed(t, e.url, "").Next
	if c, ok := store.ParseCursor(cursor); !ok || c.Epoch != "0123456789abcdef" || c.Seq != 3 || c.Tag == "" {
		t.Fatalf("head %s", cursor)
	}
	held := make(chan feedAnswer, 1)
	go func() { held <- getFeed(t, e.url, "since="+cursor+"&wait=30") }()
	time.Sleep(300 * time.Millisecond) // the call is held, the watcher runs
	feed.lose(1)
	select {
	case a := <-held:
		// Within 4 s: below the 5 s a hold is cut to when the connection's
		// deadlines cannot be moved, after which any call reads the store.
		if !a.Behind || len(a.Revocations) != 0 || a.Next != memCursor(2, "r2") || a.took > 4*time.Second {
			t.Fatalf("held call after the feed went back: %+v after %v, want behind at once with next at the new head", a.RevocationsResponse, a.took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held call was not told behind when the feed went back")
	}
	// A call made meanwhile, by a VM that still holds the lost position.
	if a := getFeed(t, e.url, "since="+cursor+"&wait=30"); !a.Behind || a.took > 15*time.Second {
		t.Fatalf("new call at a position past the head: %+v after %v", a.RevocationsResponse, a.took)
	}
}

// memCursor is the cursor at seq of a memFeed of epoch 0123456789abcdef
// whose entry there revokes the API key digest.
func memCursor(seq uint64, digest string) string {
	const epoch = "0123456789abcdef"
	return store.Cursor{Epoch: epoch, Seq: seq, Tag: store.EntryTag(epoch, store.Revocation{Seq: seq, Kind: "api_key", Digest: digest})}.String()
}
