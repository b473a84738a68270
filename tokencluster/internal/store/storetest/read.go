// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// ask is one question put to a View: record c/id, or by lookup key when id is "".
type ask struct {
	c       store.Collection
	id, key string
}

func byID(c store.Collection, id string) ask   { return ask{c: c, id: id} }
func byKey(c store.Collection, key string) ask { return ask{c: c, key: key} }

// seedReads stores the records and tokens the read tests verify against.
func seedReads(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, p := range []struct {
		c   store.Collection
		rec store.Record
	}{
		{store.Tenants, store.Record{ID: "acme"}},
		{store.Tenants, store.Record{ID: "gone", Revoked: true}},
		{store.Developers, store.Record{ID: "dev1", Tenant: "acme"}},
		{store.Developers, store.Record{ID: "dev2", Tenant: "gone"}},
		{store.Users, store.Record{ID: "u1", Tenant: "acme", DeveloperID: "dev1", SecretDigest: "s1", Scopes: []string{"a"}}},
		{store.Users, store.Record{ID: "u2", Tenant: "gone", DeveloperID: "dev2"}},
		{store.Users, store.Record{ID: "u3", Tenant: "ghost", DeveloperID: "dev9"}},
		{store.Users, store.Record{ID: "u4", Revoked: true}},
		{store.OAuthClients, store.Record{ID: "c1", Tenant: "acme", DeveloperID: "dev1"}},
		{store.OAuthClients, store.Record{ID: "c2", Tenant: "acme", DeveloperID: "dev2"}},
		{store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Keys: []string{"d:1"}}},
		{store.APIKeys, store.Record{ID: "k2", Tenant: "gone", Keys: []string{"d:2"}}},
		{store.Apps, store.Record{ID: "a1", Tenant: "acme"}},
	} {
		must(t, s.Put(ctx, p.c, p.rec))
	}
	hour := T0.Add(time.Hour).Unix()
	for _, tok := range []store.Token{
		{Digest: "t-oauth", Kind: "oauth2", ClientID: "c1", Subject: "c1", Tenant: "acme", ExpiresAt: hour},
		{Digest: "t-oauth2", Kind: "oauth2", ClientID: "c2", Subject: "c2", ExpiresAt: hour},
		{Digest: "t-orphan", Kind: "oauth2", ClientID: "c9", ExpiresAt: hour},
		{Digest: "t-sess", Kind: "session", Subject: "u1", Tenant: "acme", ExpiresAt: hour, IdleSeconds: 900},
		{Digest: "t-pkt", Kind: "public_key_token", Subject: "a1", AppID: "a1", ExpiresAt: hour},
		{Digest: "t-sso", Kind: "sso", Subject: "u1", Tenant: "acme", Scopes: []string{"x"}, ExpiresAt: hour},
		{Digest: "t-sso2", Kind: "sso", Subject: "u2", ExpiresAt: hour},
		{Digest: "t-old", Kind: "sso", Subject: "u1", ExpiresAt: T0.Add(time.Minute).Unix()},
	} {
		must(t, s.PutToken(ctx, tok, T0))
	}
}

var (
	introspect = []store.TokenOwner{{Kind: "oauth2", C: store.OAuthClients, Field: store.ByClientID},
		{Kind: "session", C: store.Users, Field: store.BySubject}}
	ssoOwner = []store.TokenOwner{{Kind: "sso", C: store.Users, Field: store.BySubject}}
	pktOwner = []store.TokenOwner{{Kind: "public_key_token", C: store.Apps, Field: store.ByAppID}}
)

// sameAnswer reports whether two (value, error) answers agree: both
// found and equal, both not found, or both consumed.
func sameAnswer(a any, aerr error, b any, berr error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrConsumed} {
		if errors.Is(aerr, e) || errors.Is(berr, e) {
			return errors.Is(aerr, e) && errors.Is(berr, e)
		}
	}
	return aerr == nil && berr == nil && reflect.DeepEqual(a, b)
}

// viewAgrees reads r and checks that the View answers each of asks (and
// the token, when r reads one without consuming it) as the store does, and
// that a store implementing store.Reader answered all of it in its one
// read. The token is asked before the records.
func viewAgrees(t *testing.T, s store.Store, r store.Read, asks ...ask) *store.View {
	t.Helper()
	ctx := context.Background()
	v, err := store.ReadView(ctx, s, r)
	must(t, err)
	if r.Token != "" && r.Consume == "" {
		got, gerr := v.Token(ctx)
		want, werr := s.GetToken(ctx, r.Token, r.Now)
		if !sameAnswer(got, gerr, want, werr) {
			t.Fatalf("read %+v: token %+v, %v; GetToken %+v, %v", r, got, gerr, want, werr)
		}
	}
	for _, a := range asks {
		var got, want store.Record
		var gerr, werr error
		if a.id == "" {
			got, gerr = v.Lookup(ctx, a.c, a.key)
			want, werr = s.Lookup(ctx, a.c, a.key)
		} else {
			got, gerr = v.Get(ctx, a.c, a.id)
			want, werr = s.Get(ctx, a.c, a.id)
		}
		if !sameAnswer(got, gerr, want, werr) {
			t.Fatalf("read %+v, %+v: view %+v, %v; store %+v, %v", r, a, got, gerr, want, werr)
		}
	}
	if _, one := s.(store.Reader); one && v.Calls() != 0 {
		t.Fatalf("read %+v: the View made %d more store calls, want 0 (one read)", r, v.Calls())
	}
	return v
}

// testReadView: a verification's read (store.ReadView) answers what Get,
// Lookup and GetToken answer, including every record it follows (tenants,
// developers, token owners), found or not, from one read.
func testReadView(t *testing.T, s store.Store) {
	seedReads(t, s)
	users := func(id string) []store.Ref { return []store.Ref{{C: store.Users, ID: id}} }
	for range 2 { // cold, then warm
		// A user, its tenant, its developer and the developer's tenant.
		viewAgrees(t, s, store.Read{Refs: users("u1"), DeveloperOf: store.Users},
			byID(store.Users, "u1"), byID(store.Tenants, "acme"), byID(store.Developers, "dev1"))
		// A revoked tenant and a revoked developer's tenant are read as they are.
		viewAgrees(t, s, store.Read{Refs: users("u2"), DeveloperOf: store.Users},
			byID(store.Users, "u2"), byID(store.Tenants, "gone"), byID(store.Developers, "dev2"))
		// A missing tenant and a missing developer are answered as missing.
		viewAgrees(t, s, store.Read{Refs: users("u3"), DeveloperOf: store.Users},
			byID(store.Users, "u3"), byID(store.Tenants, "ghost"), byID(store.Developers, "dev9"))
		viewAgrees(t, s, store.Read{Refs: users("u4")}, byID(store.Users, "u4"))
		viewAgrees(t, s, store.Read{Refs: users("nobody"), DeveloperOf: store.Users}, byID(store.Users, "nobody"))
		// By lookup key, and the record by its id from the same read.
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "d:1"}}},
			byKey(store.APIKeys, "d:1"), byID(store.APIKeys, "k1"), byID(store.Tenants, "acme"))
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "d:2"}}},
			byKey(store.APIKeys, "d:2"), byID(store.Tenants, "gone"))
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "d:none"}}}, byKey(store.APIKeys, "d:none"))
		// The key names a record of its own collection only.
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.Users, Key: "d:1"}}}, byKey(store.Users, "d:1"))
		// Several records, each with its tenant.
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.Apps, ID: "a1"}, {C: store.Users, ID: "u2"}}},
			byID(store.Apps, "a1"), byID(store.Users, "u2"), byID(store.Tenants, "acme"), byID(store.Tenants, "gone"))

		// A token, its owner by kind, the owner's tenant and developer and
		// the developer's tenant.
		now := T0.Add(30 * time.Second)
		intro := func(d string) store.Read {
			return store.Read{Now: now, Token: d, Owners: introspect, DeveloperOf: store.OAuthClients}
		}
		viewAgrees(t, s, intro("t-oauth"), byID(store.OAuthClients, "c1"), byID(store.Tenants, "acme"),
			byID(store.Developers, "dev1"))
		viewAgrees(t, s, intro("t-oauth2"), byID(store.OAuthClients, "c2"), byID(store.Developers, "dev2"),
			byID(store.Tenants, "gone"))
		viewAgrees(t, s, intro("t-sess"), byID(store.Users, "u1"), byID(store.Tenants, "acme"))
		viewAgrees(t, s, intro("t-orphan"), byID(store.OAuthClients, "c9"))
		viewAgrees(t, s, store.Read{Now: now, Token: "t-pkt", Owners: pktOwner}, byID(store.Apps, "a1"),
			byID(store.Tenants, "acme"))
		// A token of a kind without owner, expired, or missing.
		viewAgrees(t, s, intro("t-pkt"))
		late := intro("t-old")
		late.Now = T0.Add(time.Minute)
		viewAgrees(t, s, late)
		viewAgrees(t, s, intro("t-none"))
		// A token read by itself is not consumed, even of the kind.
		viewAgrees(t, s, store.Read{Now: now, Token: "t-sso", Owners: ssoOwner}, byID(store.Users, "u1"))
	}

	// The read follows every write at once.
	ctx := context.Background()
	must(t, s.Put(ctx, store.Tenants, store.Record{ID: "acme", Revoked: true}))
	must(t, s.Put(ctx, store.Users, store.Record{ID: "u1", Tenant: "acme", Revoked: true, DeveloperID: "dev1", Scopes: []string{"a"}}))
	must(t, s.Delete(ctx, store.Developers, "dev1"))
	must(t, s.Put(ctx, store.APIKeys, store.Record{ID: "k1", Tenant: "acme", Keys: []string{"d:3"}}))
	for range 2 {
		viewAgrees(t, s, store.Read{Refs: users("u1"), DeveloperOf: store.Users},
			byID(store.Users, "u1"), byID(store.Tenants, "acme"), byID(store.Developers, "dev1"))
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "d:1"}}}, byKey(store.APIKeys, "d:1"))
		viewAgrees(t, s, store.Read{Refs: []store.Ref{{C: store.APIKeys, Key: "d:3"}}}, byKey(store.APIKeys, "d:3"),
			byID(store.Tenants, "acme"))
	}
	// A caller's change of a record reaches neither the store nor the next read.
	v, err := store.ReadView(ctx, s, store.Read{Refs: users("u1")})
	must(t, err)
	rec, err := v.Get(ctx, store.Users, "u1")
	must(t, err)
	rec.Scopes[0] = "changed"
	again := viewAgrees(t, s, store.Read{Refs: users("u1")}, byID(store.Users, "u1"))
	if rec, _ := again.Get(ctx, store.Users, "u1"); rec.Scopes[0] != "a" {
		t.Fatal("a caller's change reached the store")
	}
}

// testReadConsume: a read that consumes its token consumes it once, of
// concurrent readers exactly one, and only a live token of its kind; the
// token's user and tenant come from the same read.
func testReadConsume(t *testing.T, s store.Store) {
	seedReads(t, s)
	ctx := context.Background()
	now := T0.Add(30 * time.Second)
	consume := func(d string) store.Read {
		return store.Read{Now: now, Token: d, Consume: "sso", Owners: ssoOwner}
	}
	before, err := s.GetToken(ctx, "t-sso", now)
	must(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			v, err := store.ReadView(ctx, s, consume("t-sso"))
			if err != nil {
				t.Error(err)
				return
			}
			tok, err := v.Token(ctx)
			switch {
			case err == nil && reflect.DeepEqual(tok, before):
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, store.ErrConsumed):
				t.Errorf("consuming read: %+v, %v; want the token as it was or ErrConsumed", tok, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent consuming reads won, want 1", wins)
	}
	got, err := s.GetToken(ctx, "t-sso", now)
	must(t, err)
	if !got.Consumed {
		t.Fatal("consumed token not marked")
	}
	got.Consumed = false
	if !reflect.DeepEqual(got, before) {
		t.Fatalf("consumption changed the token: %+v, was %+v", got, before)
	}
	if _, err := s.ConsumeToken(ctx, "t-sso", now); !errors.Is(err, store.ErrConsumed) {
		t.Fatalf("ConsumeToken after a consuming read: %v, want ErrConsumed", err)
	}
	// The winner reads the user and its tenant with the token.
	must(t, s.PutToken(ctx, store.Token{Digest: "t-sso3", Kind: "sso", Subject: "u1", ExpiresAt: now.Add(time.Minute).Unix()}, T0))
	v := viewAgrees(t, s, consume("t-sso3"), byID(store.Users, "u1"), byID(store.Tenants, "acme"))
	if tok, err := v.Token(ctx); err != nil || tok.Consumed || tok.Subject != "u1" {
		t.Fatalf("consuming read: %+v, %v", tok, err)
	}
	v = viewAgrees(t, s, consume("t-sso3"))
	if _, err := v.Token(ctx); !errors.Is(err, store.ErrConsumed) {
		t.Fatalf("second consuming read: %v, want ErrConsumed", err)
	}
	// A token of another kind is read, not consumed; an expired or missing one is not found.
	v = viewAgrees(t, s, consume("t-oauth"))
	if tok, err := v.Token(ctx); err != nil || tok.Kind != "oauth2" || tok.Consumed {
		t.Fatalf("consuming read of an oauth2 token: %+v, %v", tok, err)
	}
	for _, d := range []string{"t-oauth", "t-sso2"} {
		if tok, err := s.GetToken(ctx, d, now); err != nil || tok.Consumed {
			t.Fatalf("%s after another's consuming read: %+v, %v", d, tok, err)
		}
	}
	late := consume("t-old")
	late.Now = T0.Add(time.Minute)
	v = viewAgrees(t, s, late)
	if _, err := v.Token(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming read of an expired token: %v, want ErrNotFound", err)
	}
	if tok, err := s.GetToken(ctx, "t-old", T0); err != nil || tok.Consumed {
		t.Fatalf("an expired token was consumed: %+v, %v", tok, err)
	}
	v = viewAgrees(t, s, consume("t-none"))
	if _, err := v.Token(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consuming read of a missing token: %v, want ErrNotFound", err)
	}
}
