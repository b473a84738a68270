// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

func (e *env) verify(req tokenapi.VerifyRequest) map[string]any {
	e.t.Helper()
	resp := e.postJSON("/v1/verify", req)
	wantStatus(e.t, resp, http.StatusOK)
	return resp.json(e.t)
}

func TestVerifyKinds(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		e := newEnvOn(t, open(t))
		tests := []struct {
			name string
			req  tokenapi.VerifyRequest
			want map[string]any
		}{
			{name: "api key", req: tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"},
				want: map[string]any{"active": true, "subject": "demo-key", "tenant": "acme", "scopes": "[catalog:read]",
					"cache_ttl": 60, "digest": tokenapi.Digest("demo-api-key-0001")}},
			{name: "api key unknown", req: tokenapi.VerifyRequest{Kind: "api_key", Credential: "nope"},
				want: map[string]any{"active": false, "reason": "unknown", "cache_ttl": 5}},
			{name: "api key with expiry", req: tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0002"},
				want: map[string]any{"active": true, "tenant": "globex", "expires_at": 4070908800, "cache_ttl": 60}},
			{name: "user api key", req: tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key"},
				want: map[string]any{"active": true, "subject": "user-42", "developer_id": "dev-1001",
					"digest": tokenapi.Digest("demo-user-api-key")}},
			{name: "user api key with developer", req: tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42",
				Credential: "demo-user-api-key", DeveloperID: "dev-1001"}, want: map[string]any{"active": true}},
			{name: "user api key wrong developer", req: tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42",
				Credential: "demo-user-api-key", DeveloperID: "dev-9"}, want: map[string]any{"active": false, "reason": "mismatch"}},
			{name: "user api key wrong key", req: tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "x"},
				want: map[string]any{"active": false, "reason": "mismatch"}},
			{name: "user api key unknown user", req: tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "u-0", Credential: "x"},
				want: map[string]any{"active": false, "reason": "unknown"}},
			{name: "public key", req: tokenapi.VerifyRequest{Kind: "public_key", Credential: "demo-public-key"},
				want: map[string]any{"active": true, "app_id": "demo-public-key", "scopes": "[cart]",
					"digest": tokenapi.Digest("demo-public-key")}},
			{name: "public key unknown", req: tokenapi.VerifyRequest{Kind: "public_key", Credential: "pk"},
				want: map[string]any{"active": false, "reason": "unknown"}},
			{name: "domain key", req: tokenapi.VerifyRequest{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"},
				want: map[string]any{"active": true, "subject": "shop.acme.test", "digest": tokenapi.Digest("demo-domain-key")}},
			{name: "domain key wrong key", req: tokenapi.VerifyRequest{Kind: "domain_key", Domain: "shop.acme.test", Credential: "x"},
				want: map[string]any{"active": false, "reason": "mismatch"}},
			{name: "domain unknown", req: tokenapi.VerifyRequest{Kind: "domain_key", Domain: "x.test", Credential: "demo-domain-key"},
				want: map[string]any{"active": false, "reason": "unknown"}},
			{name: "hmac key", req: tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "user-42"},
				want: map[string]any{"active": true, "hmac_key": "demo-user-hmac-key", "digest": tokenapi.Digest("user-42")}},
			{name: "hmac key unknown", req: tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "user-0"},
				want: map[string]any{"active": false, "reason": "unknown", "hmac_key": nil}},
			{name: "sso unknown", req: tokenapi.VerifyRequest{Kind: "sso", Credential: "x"},
				want: map[string]any{"active": false, "reason": "unknown"}},
			{name: "public key token unknown", req: tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: "x"},
				want: map[string]any{"active": false, "reason": "unknown"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				m := e.verify(tc.req)
				wantField(t, m, "kind", tc.req.Kind)
				for k, v := range tc.want {
					wantField(t, m, k, v)
				}
			})
		}
	})
}

func TestVerifyExpiryAndRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.admin(http.MethodPost, "/api-keys",
		`{"id":"short","tenant":"acme","expires_at":"2026-03-04T05:07:07Z"}`)
	wantStatus(t, created, http.StatusCreated)
	raw := created.json(t)["secrets"].(map[string]any)["secret"].(string)
	m := e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: raw})
	wantField(t, m, "active", true)
	wantField(t, m, "cache_ttl", 60) // exactly 60s left
	e.clock.Advance(45 * time.Second)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: raw}), "cache_ttl", 15)
	e.clock.Advance(15 * time.Second)
	m = e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: raw})
	wantField(t, m, "reason", "expired")

	wantStatus(t, e.admin(http.MethodDelete, "/api-keys/demo-key", ""), http.StatusOK)
	m = e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"})
	wantField(t, m, "reason", "revoked")
	wantField(t, m, "revoked", true)

	wantStatus(t, e.admin(http.MethodDelete, "/tenants/acme", ""), http.StatusOK)
	for _, req := range []tokenapi.VerifyRequest{
		{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key"},
		{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"},
		{Kind: "public_key", Credential: "demo-public-key"},
		{Kind: "hmac_key", UserID: "user-42"},
	} {
		if m := e.verify(req); m["reason"] != "revoked" {
			t.Fatalf("%s after tenant revocation = %v", req.Kind, m)
		}
	}
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0002"}), "active", true)
}

func TestVerifyBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, body string
		status     int
	}{
		{name: "unknown kind", body: `{"kind":"password"}`, status: 400},
		{name: "oauth2 goes to introspect", body: `{"kind":"oauth2","credential":"x"}`, status: 400},
		{name: "missing credential", body: `{"kind":"api_key"}`, status: 400},
		{name: "missing user id", body: `{"kind":"user_api_key","credential":"k"}`, status: 400},
		{name: "missing domain", body: `{"kind":"domain_key","credential":"k"}`, status: 400},
		{name: "missing public key", body: `{"kind":"public_key_token","credential":"k"}`, status: 400},
		{name: "unknown field", body: `{"kind":"api_key","credential":"k","extra":true}`, status: 400},
		{name: "wrong type", body: `{"kind":1}`, status: 400},
		{name: "oversized", body: `{"kind":"api_key","credential":"` + strings.Repeat("k", 65<<10) + `"}`, status: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.postJSON("/v1/verify", tc.body)
			wantStatus(t, resp, tc.status)
			wantField(t, resp.json(t), "error", map[int]string{400: "invalid_request", 413: "request_too_large"}[tc.status])
		})
	}
	wantStatus(t, e.do(http.MethodPost, "/v1/verify", "text/plain", `{}`), http.StatusUnsupportedMediaType)
	wantStatus(t, e.do(http.MethodGet, "/v1/verify", "", ""), http.StatusMethodNotAllowed)
	wantStatus(t, e.do(http.MethodGet, "/nowhere", "", ""), http.StatusNotFound)
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	const token = "internal-bearer-0123456789abcdef"
	e := newEnv(t, func(o *server.Options) { o.VerifyToken, o.OpenVerify = token, false })
	req := `{"kind":"api_key","credential":"demo-api-key-0001"}`
	wantStatus(t, e.postJSON("/v1/verify", req), http.StatusUnauthorized)
	wantStatus(t, e.postJSON("/v1/verify", req, "Authorization", "Bearer wrong"), http.StatusUnauthorized)
	wantStatus(t, e.postJSON("/v1/verify", req, "Authorization", "Bearer "+token[:len(token)-1]), http.StatusUnauthorized)
	wantStatus(t, e.postJSON("/v1/verify", req, "Authorization", "Bearer "+token), http.StatusOK)
	// The key oracle of the open API: an HMAC key is answered only to the caller.
	hmacReq := `{"kind":"hmac_key","user_id":"user-42"}`
	wantStatus(t, e.postJSON("/v1/verify", hmacReq), http.StatusUnauthorized)
	wantStatus(t, e.postForm("/introspect", url.Values{"token": {"x"}}), http.StatusUnauthorized)
	wantStatus(t, e.do(http.MethodGet, "/v1/revocations", "", ""), http.StatusUnauthorized)
	wantStatus(t, e.do(http.MethodGet, "/v1/revocations", "", "", "Authorization", "Bearer "+token), http.StatusOK)
	// Issuance stays public.
	wantStatus(t, e.postJSON("/v2/token", demoLogin), http.StatusOK)
}

// The service refuses to start with an open verification API unless asked
// to, explicitly, and refuses short tokens.
func TestVerifyTokenRequired(t *testing.T) {
	t.Parallel()
	st := openBolt(t)
	for _, tc := range []struct {
		name string
		opts server.Options
		ok   bool
	}{
		{"no token", server.Options{Store: st}, false},
		{"short token", server.Options{Store: st, VerifyToken: "short"}, false},
		{"token", server.Options{Store: st, VerifyToken: "0123456789abcdef01234567"}, true},
		{"open for development", server.Options{Store: st, OpenVerify: true}, true},
	} {
		_, err := server.New(tc.opts)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestRevocationOfWarmRecords: the store keeps decoded records; a key or
// tenant revoked through the admin API fails the very next verification,
// however often it was verified before.
func TestRevocationOfWarmRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		revoke string
		reqs   []tokenapi.VerifyRequest
	}{
		{"api key", "/api-keys/demo-key", []tokenapi.VerifyRequest{{Kind: "api_key", Credential: "demo-api-key-0001"}}},
		{"user", "/users/user-42", []tokenapi.VerifyRequest{{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key"},
			{Kind: "hmac_key", UserID: "user-42"}}},
		{"tenant", "/tenants/acme", []tokenapi.VerifyRequest{{Kind: "api_key", Credential: "demo-api-key-0001"},
			{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"}, {Kind: "public_key", Credential: "demo-public-key"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for i := 0; i < 3; i++ {
				for _, req := range tc.reqs {
					wantField(t, e.verify(req), "active", true)
				}
			}
			wantStatus(t, e.admin(http.MethodDelete, tc.revoke, ""), http.StatusOK)
			for _, req := range tc.reqs {
				m := e.verify(req)
				wantField(t, m, "active", false)
				wantField(t, m, "reason", "revoked")
			}
		})
	}
}
