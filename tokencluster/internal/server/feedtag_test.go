// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// TestRevocationFeedLostAppendReused is finding F3: a Redis failover loses
// only the newest append, which a VM had already read (its cursor is at
// it), and keeps the epoch; the next append on the new master reuses that
// sequence number for another revocation. The VM's cursor names the lost
// entry by its tag, so it is answered behind (and drops its cache) instead
// of looking current and never seeing the acknowledged revocation. A VM
// whose cursor is before the reused number reads the new entry.
func TestRevocationFeedLostAppendReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := redisserver.Start(t)
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	t.Cleanup(func() { _ = raw.Close() })
	st := openRedisPrefix(t, url, "f3:")
	e := newEnvOn(t, st)
	appendRev := func(d string) {
		t.Helper()
		if _, err := st.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: d, At: t0.Unix()}); err != nil {
			t.Fatal(err)
		}
	}
	head := getFeed(t, e.url, "").Next
	appendRev("r1")
	appendRev("r2")
	early := getFeed(t, e.url, "since="+head+"&limit=1") // a VM at 1
	late := getFeed(t, e.url, "since="+early.Next)       // a VM that read r2
	if len(late.Revocations) != 1 || late.Revocations[0].Digest != "r2" {
		t.Fatalf("the VM did not read r2: %+v", late.RevocationsResponse)
	}
	// The failover: the new master never had r2 (its epoch key, written
	// with the first append, it has); the next append gets seq 2.
	if err := raw.RPop(ctx, "{f3:rev}").Err(); err != nil {
		t.Fatal(err)
	}
	appendRev("acknowledged")
	a := getFeed(t, e.url, "since="+late.Next)
	if !a.Behind || len(a.Revocations) != 0 {
		t.Fatalf("a VM at the lost entry: %+v, want behind (it would never see the revocation reusing its number)", a.RevocationsResponse)
	}
	if c, ok := store.ParseCursor(a.Next); !ok || c.Seq != 2 || a.Next == late.Next {
		t.Fatalf("behind answer next %q, want the new entry at 2", a.Next)
	}
	b := getFeed(t, e.url, "since="+early.Next)
	if b.Behind || len(b.Revocations) != 1 || b.Revocations[0].Digest != "acknowledged" || b.Next != a.Next {
		t.Fatalf("a VM at 1: %+v, want the new entry", b.RevocationsResponse)
	}
	if c := getFeed(t, e.url, "since="+a.Next); c.Behind || len(c.Revocations) != 0 {
		t.Fatalf("the new head's cursor: %+v", c.RevocationsResponse)
	}
}

// TestRevocationLongPollLostAppendReused: the F3 sequence while the VM's
// call is held at the lost entry. The watcher never sees the feed shorter
// (the loss and the next appends land between two of its reads): the
// head's tag changed, or the entry it ended with is another, and the held
// call is told behind at once, not held to its end and then answered as
// current, nor given only the entries after the reused number.
func TestRevocationLongPollLostAppendReused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		appends []string // after the loss
	}{
		{"the head reused", []string{"other"}},
		{"the head reused and passed", []string{"other", "more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			feed := &memFeed{epoch: "0123456789abcdef"}
			st := &resetFeed{Store: openBolt(t), feed: feed}
			e := newEnvOn(t, st, func(o *server.Options) { o.RevocationWatch = 20 * time.Millisecond })
			for _, d := range []string{"r1", "r2", "r3"} {
				if _, err := feed.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: d}); err != nil {
					t.Fatal(err)
				}
			}
			cursor := getFeed(t, e.url, "").Next
			if cursor != memCursor(3, "r3") {
				t.Fatalf("head %s, want %s", cursor, memCursor(3, "r3"))
			}
			held := make(chan feedAnswer, 1)
			go func() { held <- getFeed(t, e.url, "since="+cursor+"&wait=30") }()
			time.Sleep(300 * time.Millisecond) // the call is held, the watcher runs
			feed.replace(1, tc.appends...)
			want := memCursor(uint64(2+len(tc.appends)), tc.appends[len(tc.appends)-1])
			select {
			case a := <-held:
				// Within 4 s: below the 5 s a hold is cut to when the
				// connection's deadlines cannot be moved.
				if !a.Behind || len(a.Revocations) != 0 || a.Next != want || a.took > 4*time.Second {
					t.Fatalf("held call at the lost entry: %+v after %v, want behind at once, next %s", a.RevocationsResponse, a.took, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the held call at the lost entry was not answered")
			}
			// A new long-poll at the lost position: behind too.
			if a := getFeed(t, e.url, "since="+cursor+"&wait=30"); !a.Behind || a.Next != want || a.took > 4*time.Second {
				t.Fatalf("new call at the lost entry: %+v after %v", a.RevocationsResponse, a.took)
			}
			// A VM at 2 gets the new entries from the watcher's copy.
			if a := getFeed(t, e.url, "since="+memCursor(2, "r2")+"&wait=30"); a.Behind || len(a.Revocations) != len(tc.appends) || a.Revocations[0].Digest != "other" || a.Next != want {
				t.Fatalf("call at 2: %+v", a.RevocationsResponse)
			}
		})
	}
}
