// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
	"github.com/credgate/credgate/tokencluster/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	url := redisserver.Start(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := redis.Open(context.Background(), url, fmt.Sprintf("t%d:", n.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestTokenTTLFollowsExpiry(t *testing.T) {
	url := redisserver.Start(t)
	ctx := context.Background()
	s, err := redis.Open(ctx, url, "ttl:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	tok := store.Token{Digest: "short", ExpiresAt: now.Unix() + 1}
	if err := s.PutToken(ctx, tok, now.Add(-1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// The key's TTL is 2.5s of real time; poll until Redis drops it, with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.GetToken(ctx, "short", time.Unix(0, 0))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis did not expire the token key")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1/0", ""); err == nil {
		t.Fatal("Open of a closed port must fail")
	}
}

// TestEarlierLayoutMigrated writes keys the way earlier releases did (no
// hash tags) and checks a store opened on them reads every record, lookup
// key, token (with its TTL) and revocation, and refuses a key present twice.
func TestEarlierLayoutMigrated(t *testing.T) {
	url := redisserver.Start(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	defer raw.Close()
	rec := `{"id":"k1","tenant":"acme","created_at":1,"updated_at":1,"keys":["d:abc"]}`
	tok := `{"digest":"t1","kind":"oauth2","subject":"c1","iat":1,"exp":4102444800}`
	for _, err := range []error{
		raw.HSet(ctx, "old:rec:api-keys", "k1", rec).Err(),
		raw.HSet(ctx, "old:key:api-keys", "d:abc", "k1").Err(),
		raw.Set(ctx, "old:tok:t1", tok, time.Hour).Err(),
		raw.RPush(ctx, "old:rev", `{"kind":"api_key","digest":"r1","at":1}`, `{"kind":"api_key","digest":"r2","at":2}`).Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := redis.Open(ctx, url, "old:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Migrated() != 4 {
		t.Fatalf("migrated %d keys, want 4", s.Migrated())
	}
	if got, err := s.Lookup(ctx, store.APIKeys, "d:abc"); err != nil || got.ID != "k1" {
		t.Fatalf("Lookup after migration = %+v, %v", got, err)
	}
	if got, err := s.GetToken(ctx, "t1", time.Now()); err != nil || got.Subject != "c1" {
		t.Fatalf("GetToken after migration = %+v, %v", got, err)
	}
	if ttl := raw.TTL(ctx, "{old:tok:t1}").Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("migrated token TTL = %s", ttl)
	}
	entries, head, err := s.Revocations(ctx, 0, 10)
	if err != nil || head.Head != 2 || len(entries) != 2 || entries[1].Digest != "r2" {
		t.Fatalf("feed after migration = %+v feed %+v, %v", entries, head, err)
	}
	if n, err := raw.Exists(ctx, "old:rec:api-keys", "old:key:api-keys", "old:tok:t1", "old:rev").Result(); err != nil || n != 0 {
		t.Fatalf("%d keys of the earlier layout remain (%v)", n, err)
	}
	again, err := redis.Open(ctx, url, "old:")
	if err != nil || again.Migrated() != 0 {
		t.Fatalf("second open: migrated %v, %v", again, err)
	}
	_ = again.Close()
	if err := raw.RPush(ctx, "old:rev", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.Del(ctx, "{old:meta}:layout").Err(); err != nil { // as if an earlier release had run again
		t.Fatal(err)
	}
	if _, err := redis.Open(ctx, url, "old:"); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("open with a key under both names = %v, want a refusal", err)
	}
}

// TestFeedEpochMadeAgain: the feed's keys lost (a FLUSHALL, a failover to a
// node that never had them) or only its epoch key lost: the next read or
// append makes a new epoch, so cursors of the old feed are answered behind
// although the new feed reuses their sequence numbers.
func TestFeedEpochMadeAgain(t *testing.T) {
	url := redisserver.Start(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	defer raw.Close()
	s, err := redis.Open(ctx, url, "ep:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendN := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := s.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed := func() store.Feed {
		t.Helper()
		_, f, err := s.Revocations(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	losses := []struct {
		name  string
		keys  []string
		first func() // what touches the feed first after the loss
	}{
		{"every feed key, then an append", []string{"{ep:rev}", "{ep:rev}:base", "{ep:rev}:epoch"}, func() { appendN(2) }},
		{"every feed key, then a read", []string{"{ep:rev}", "{ep:rev}:base", "{ep:rev}:epoch"}, func() { feed(); appendN(2) }},
		{"the epoch key only", []string{"{ep:rev}:epoch"}, func() { appendN(2) }},
	}
	for _, l := range losses {
		appendN(2)
		old := feed()
		if n, err := raw.Exists(ctx, "{ep:rev}:epoch").Result(); err != nil || n != 1 {
			t.Fatalf("%s: the epoch is not under the feed's hash tag (%d, %v)", l.name, n, err)
		}
		if err := raw.Del(ctx, l.keys...).Err(); err != nil {
			t.Fatal(err)
		}
		l.first()
		now := feed()
		if now.Epoch == "" || now.Epoch == old.Epoch || !now.Behind(old.At(old.Head)) || !now.Behind(old.At(now.Head)) {
			t.Errorf("%s: feed %+v after %+v: a cursor of the old feed is not behind", l.name, now, old)
		}
		if !now.Behind(store.Cursor{Epoch: now.Epoch, Seq: now.Head + 1}) {
			t.Errorf("%s: a cursor past the head is not behind", l.name)
		}
	}
}

// TestLostAppend: a failover to a replica that missed the newest append
// keeps the epoch key and loses the entry (here RPOP on the feed's list):
// the next append reuses its sequence number, and the cursor of a reader
// that saw the lost entry is behind, not current.
func TestLostAppend(t *testing.T) {
	url := redisserver.Start(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	defer raw.Close()
	storetest.RunLostAppend(t, func(t *testing.T) store.Store {
		s, err := redis.Open(ctx, url, "lost:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, _ store.Store) {
		if err := raw.RPop(ctx, "{lost:rev}").Err(); err != nil {
			t.Fatal(err)
		}
	})
}
