// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
	"github.com/credgate/credgate/tokencluster/internal/store/storetest"
)

// roundTrips counts what the client sends: one command, or one pipeline.
type roundTrips struct{ n atomic.Int64 }

func (*roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (rt *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		rt.n.Add(1)
		return next(ctx, cmd)
	}
}

func (rt *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		rt.n.Add(1)
		return next(ctx, cmds)
	}
}

// verificationReads are the reads the server makes, one per kind (see
// tokencluster/internal/server/verify.go and introspect.go), on records and
// tokens that seedVerification stores.
func verificationReads(now time.Time) []struct {
	kind string
	read store.Read
} {
	introspect := []store.TokenOwner{{Kind: "oauth2", C: store.OAuthClients, Field: store.ByClientID},
		{Kind: "session", C: store.Users, Field: store.BySubject}}
	return []struct {
		kind string
		read store.Read
	}{
		{"oauth2", store.Read{Now: now, Token: "t-oauth", Owners: introspect, DeveloperOf: store.OAuthClients}},
		{"session", store.Read{Now: now, Token: "t-sess", Owners: introspect, DeveloperOf: store.OAuthClients}},
		{"user_api_key", store.Read{Refs: []store.Ref{{C: store.Users, ID: "u1"}}, DeveloperOf: store.Users}},
		{"public_key", store.Read{Refs: []store.Ref{{C: store.Apps, ID: "a1"}}}},
		{"public_key_token", store.Read{Now: now, Token: "t-pkt",
			Owners: []store.TokenOwner{{Kind: "public_key_token", C: store.Apps, Field: store.ByAppID}}}},
		{"domain_key", store.Read{Refs: []store.Ref{{C: store.Domains, ID: "shop"}}}},
		{"hmac_key", store.Read{Refs: []store.Ref{{C: store.Users, ID: "u1"}}}},
		{"sso", store.Read{Now: now, Token: "t-sso", Consume: "sso",
			Owners: []store.TokenOwner{{Kind: "sso", C: store.Users, Field: store.BySubject}}}},
	}
}

func seedVerification(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, p := range []struct {
		c   store.Collection
		rec store.Record
	}{
		{store.Tenants, store.Record{ID: "acme"}},
		{store.Developers, store.Record{ID: "dev1", Tenant: "acme"}},
		{store.Users, store.Record{ID: "u1", Tenant: "acme", DeveloperID: "dev1"}},
		{store.OAuthClients, store.Record{ID: "c1", Tenant: "acme", DeveloperID: "dev1"}},
		{store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Keys: []string{"d:1"}}},
		{store.Apps, store.Record{ID: "a1", Tenant: "acme"}},
		{store.Domains, store.Record{ID: "shop", Tenant: "acme"}},
	} {
		if err := s.Put(ctx, p.c, p.rec); err != nil {
			t.Fatal(err)
		}
	}
	exp := storetest.T0.Add(time.Hour).Unix()
	for _, tok := range []store.Token{
		{Digest: "t-oauth", Kind: "oauth2", ClientID: "c1", ExpiresAt: exp},
		{Digest: "t-sess", Kind: "session", Subject: "u1", ExpiresAt: exp},
		{Digest: "t-pkt", Kind: "public_key_token", AppID: "a1", ExpiresAt: exp},
	} {
		if err := s.PutToken(ctx, tok, storetest.T0); err != nil {
			t.Fatal(err)
		}
	}
}

// countReads returns the round trips of each verification's read on s,
// once its scripts are loaded, each read answered whole (no later call).
func countReads(t *testing.T, s *redis.Store) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	seedVerification(t, s)
	rt := &roundTrips{}
	redis.AddHook(s, rt)
	got := map[string]int64{}
	for round := range 2 { // the first loads the scripts
		for i, vr := range verificationReads(storetest.T0) {
			if vr.read.Consume != "" {
				vr.read.Token = fmt.Sprint(vr.read.Token, round, i)
				tok := store.Token{Digest: vr.read.Token, Kind: "sso", Subject: "u1", ExpiresAt: storetest.T0.Add(time.Hour).Unix()}
				if err := s.PutToken(ctx, tok, storetest.T0); err != nil {
					t.Fatal(err)
				}
			}
			rt.n.Store(0)
			v, err := store.ReadView(ctx, s, vr.read)
			if err != nil {
				t.Fatal(vr.kind, err)
			}
			got[vr.kind] = rt.n.Load()
			if _, err := v.Token(ctx); vr.read.Token != "" && err != nil {
				t.Fatalf("%s: token: %v", vr.kind, err)
			}
			if v.Calls() != 0 {
				t.Fatalf("%s: %d calls after the read", vr.kind, v.Calls())
			}
		}
		rt.n.Store(0)
		if _, owner, err := s.LookupOwned(ctx, store.APIKeys, "d:1"); err != nil || !owner.Found {
			t.Fatal("api_key", owner, err)
		}
		got["api_key"] = rt.n.Load()
	}
	return got
}

// TestReadIsOneRoundTrip: on a single node every verification's read is
// one round trip, the consuming one (script and WAIT) included.
func TestReadIsOneRoundTrip(t *testing.T) {
	url := redisserver.Start(t)
	s, err := redis.Open(context.Background(), url, "rt:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for kind, n := range countReads(t, s) {
		if n != 1 {
			t.Errorf("%s: %d round trips, want 1", kind, n)
		}
	}
}
