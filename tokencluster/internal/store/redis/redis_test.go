// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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
