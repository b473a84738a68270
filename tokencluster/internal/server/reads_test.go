// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// countingStore counts the calls the server makes of its store, by method,
// and passes on the store's optional reads (the server looks for them).
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

// take returns the calls counted since the last take, as "op×n" sorted, and
// their total.
func (c *countingStore) take() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ops []string
	n := 0
	for op, k := range c.calls {
		ops = append(ops, fmt.Sprintf("%s×%d", op, k))
		n += k
	}
	clear(c.calls)
	sort.Strings(ops)
	return strings.Join(ops, " "), n
}

func (c *countingStore) Get(ctx context.Context, coll store.Collection, id string) (store.Record, error) {
	c.count("Get")
	return c.Store.Get(ctx, coll, id)
}

func (c *countingStore) Lookup(ctx context.Context, coll store.Collection, key string) (store.Record, error) {
	c.count("Lookup")
	return c.Store.Lookup(ctx, coll, key)
}

func (c *countingStore) GetToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	c.count("GetToken")
	return c.Store.GetToken(ctx, digest, now)
}

func (c *countingStore) TouchToken(ctx context.Context, digest string, exp int64, now time.Time) (store.Token, error) {
	c.count("TouchToken")
	return c.Store.TouchToken(ctx, digest, exp, now)
}

func (c *countingStore) ConsumeToken(ctx context.Context, digest string, now time.Time) (store.Token, error) {
	c.count("ConsumeToken")
	return c.Store.ConsumeToken(ctx, digest, now)
}

func (c *countingStore) LookupOwned(ctx context.Context, coll store.Collection, key string) (store.Record, store.Owner, error) {
	ol, ok := c.Store.(store.OwnedLookup)
	if !ok {
		return store.LookupThenGet(ctx, c, coll, key)
	}
	c.count("LookupOwned")
	return ol.LookupOwned(ctx, coll, key)
}

func (c *countingStore) ReadView(ctx context.Context, r store.Read) (*store.View, error) {
	rd, ok := c.Store.(store.Reader)
	if !ok {
		return store.LazyView(c, r), nil
	}
	c.count("ReadView")
	return rd.ReadView(ctx, r)
}

// readCase is one verification and the store calls it must make.
type readCase struct {
	kind string
	// prepare runs before the counted verification (issue a token, ...).
	prepare func(t *testing.T, e *env) (path, ctype, body string)
	// calls are the store calls of the verification, as countingStore.take
	// renders them; active is its answer.
	calls  string
	active bool
}

func verifyJSON(req tokenapi.VerifyRequest) (string, string, string) {
	return tokenapi.PathVerify, "application/json", mustJSON(req)
}

func introspectForm(token string) (string, string, string) {
	return tokenapi.PathIntrospect, formType, url.Values{"token": {token}}.Encode()
}

// putSSO stores a fresh sso token of user-42 and returns its raw value.
func putSSO(t *testing.T, e *env) string {
	raw := secret.NewToken(16)
	tok := store.Token{Digest: secret.Digest(raw), Kind: tokenapi.KindSSO, Subject: "user-42", Tenant: "acme",
		IssuedAt: t0.Unix(), ExpiresAt: t0.Add(time.Hour).Unix()}
	if err := e.store.PutToken(context.Background(), tok, t0); err != nil {
		t.Fatal(err)
	}
	return raw
}

func publicKeyToken(t *testing.T, e *env) string {
	return e.postJSON(tokenapi.PathPublicKeyToken, pkRequest("demo-public-key", "demo-secret-key", t0)).json(t)["token"].(string)
}

const oneRead = "ReadView×1"

var readCases = []readCase{
	{"oauth2", func(t *testing.T, e *env) (string, string, string) {
		return introspectForm(e.oauthToken(url.Values{"grant_type": {"client_credentials"}}))
	}, oneRead, true},
	{"session", func(t *testing.T, e *env) (string, string, string) {
		return introspectForm(e.session())
	}, oneRead, true},
	{"session, sliding", func(t *testing.T, e *env) (string, string, string) {
		path, ctype, body := introspectForm(e.session())
		e.clock.Advance(time.Second) // the verification slides (writes) the session
		return path, ctype, body
	}, oneRead + " TouchToken×1", true},
	{"api_key", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"})
	}, "LookupOwned×1", true},
	{"user_api_key", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key",
			DeveloperID: "dev-1001"})
	}, oneRead, true},
	{"user_api_key without developer", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key"})
	}, oneRead, true},
	{"public_key", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "public_key", Credential: "demo-public-key"})
	}, oneRead, true},
	{"public_key_token", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: publicKeyToken(t, e)})
	}, oneRead, true},
	{"domain_key", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"})
	}, oneRead, true},
	{"hmac_key", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "user-42"})
	}, oneRead, true},
	{"sso", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "sso", Credential: putSSO(t, e)})
	}, oneRead, true},

	// Refusals read the store once too.
	{"sso, second use", func(t *testing.T, e *env) (string, string, string) {
		raw := putSSO(t, e)
		wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "sso", Credential: raw}), "active", true)
		return verifyJSON(tokenapi.VerifyRequest{Kind: "sso", Credential: raw})
	}, oneRead, false},
	{"oauth2, unknown", func(t *testing.T, e *env) (string, string, string) {
		return introspectForm("no-such-token")
	}, oneRead, false},
	{"api_key, unknown", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "api_key", Credential: "no-such-key"})
	}, "LookupOwned×1", false},
	{"user_api_key, another developer", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key",
			DeveloperID: "dev-9999"})
	}, oneRead, false},
	{"public_key_token, another app", func(t *testing.T, e *env) (string, string, string) {
		return verifyJSON(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "another-app", Credential: publicKeyToken(t, e)})
	}, oneRead, false},
}

// TestStoreReadsPerVerification: a verification of each kind, on both
// stores, cold or warm, asks the store once (one transaction or cache
// access on bbolt, one round trip on Redis: see the stores' own tests); a
// session that slides writes its new expiry besides.
func TestStoreReadsPerVerification(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		for _, rc := range readCases {
			t.Run(rc.kind, func(t *testing.T) {
				cs := &countingStore{Store: open(t), calls: map[string]int{}}
				e := newEnvOn(t, cs)
				for _, round := range []string{"cold", "warm"} {
					path, ctype, body := rc.prepare(t, e)
					cs.take()
					resp := e.do("POST", path, ctype, body)
					wantStatus(t, resp, 200)
					wantField(t, resp.json(t), "active", rc.active)
					if calls, _ := cs.take(); calls != rc.calls {
						t.Fatalf("%s (%s): store calls %s, want %s", rc.kind, round, calls, rc.calls)
					}
				}
			})
		}
	})
}
