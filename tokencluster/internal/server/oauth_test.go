// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
)

func basic(id, secret string) []string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return []string{"Authorization", r.Header.Get("Authorization")}
}

func (e *env) oauthToken(form url.Values) string {
	e.t.Helper()
	resp := e.postForm("/token", form, basic("demo-client", "demo-client-secret")...)
	wantStatus(e.t, resp, http.StatusOK)
	return resp.json(e.t)["access_token"].(string)
}

func (e *env) introspect(token string) map[string]any {
	e.t.Helper()
	resp := e.postForm("/introspect", url.Values{"token": {token}, "token_type_hint": {"access_token"}})
	wantStatus(e.t, resp, http.StatusOK)
	return resp.json(e.t)
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	grant := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name    string
		form    url.Values
		header  []string
		ctype   string
		status  int
		errCode string
	}{
		{name: "basic auth", form: grant, header: basic("demo-client", "demo-client-secret"), status: 200},
		{name: "form fields", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-client"},
			"client_secret": {"demo-client-secret"}}, status: 200},
		{name: "wrong secret", form: grant, header: basic("demo-client", "nope"), status: 401, errCode: "invalid_client"},
		{name: "unknown client", form: grant, header: basic("ghost", "demo-client-secret"), status: 401, errCode: "invalid_client"},
		{name: "no client auth", form: grant, status: 401, errCode: "invalid_client"},
		{name: "two auth methods", form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {"x"}},
			header: basic("demo-client", "demo-client-secret"), status: 400, errCode: "invalid_request"},
		{name: "password grant", form: url.Values{"grant_type": {"password"}}, header: basic("demo-client", "demo-client-secret"),
			status: 400, errCode: "unsupported_grant_type"},
		{name: "missing grant", form: url.Values{}, header: basic("demo-client", "demo-client-secret"), status: 400, errCode: "invalid_request"},
		{name: "scope not granted", form: url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read admin"}},
			header: basic("demo-client", "demo-client-secret"), status: 400, errCode: "invalid_scope"},
		{name: "json body", form: grant, ctype: "application/json", header: basic("demo-client", "demo-client-secret"),
			status: 415, errCode: "unsupported_media_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/x-www-form-urlencoded"
			}
			resp := e.do(http.MethodPost, "/token", ctype, tc.form.Encode(), tc.header...)
			wantStatus(t, resp, tc.status)
			m := resp.json(t)
			if tc.status != 200 {
				wantField(t, m, "error", tc.errCode)
				if tc.status == 401 && resp.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				return
			}
			if m["access_token"] == "" || m["access-token"] != m["access_token"] {
				t.Fatalf("token fields: %v", m)
			}
			wantField(t, m, "token_type", "Bearer")
			wantField(t, m, "expires_in", 3600)
			if resp.header.Get("Cache-Control") != "no-store" {
				t.Fatal("token response is cacheable")
			}
		})
	}
	if resp := e.do(http.MethodPost, "/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&grant_type=client_credentials", basic("demo-client", "demo-client-secret")...); resp.status != 400 {
		t.Fatalf("repeated parameter: %d", resp.status)
	}
}

func TestIntrospectOAuthToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.oauthToken(url.Values{"grant_type": {"client_credentials"}, "access_type": {"S2S"},
		"visitorcode": {"v-1"}, "customercode": {"c-2"}, "scope": {"orders:read"}})
	m := e.introspect(tok)
	for k, v := range map[string]any{"active": true, "scope": "orders:read", "client_id": "demo-client",
		"sub": "demo-client", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(), "token_type": "Bearer",
		"tenant": "acme", "access_type": "S2S", "visitorcode": "v-1", "customercode": "c-2", "cache_ttl": 60,
		"kind": tokenapi.KindOAuth2, "developer_id": "dev-1001"} {
		wantField(t, m, k, v)
	}
	c2s := e.introspect(e.oauthToken(url.Values{"grant_type": {"client_credentials"}}))
	wantField(t, c2s, "access_type", "C2S")
	wantField(t, c2s, "scope", "orders:read orders:write")

	e.clock.Advance(time.Hour - 30*time.Second)
	wantField(t, e.introspect(tok), "cache_ttl", 30) // never past the token's expiry
	e.clock.Advance(30 * time.Second)
	expired := e.introspect(tok)
	if len(expired) != 3 || expired["active"] != false || expired["reason"] != "unknown" {
		t.Fatalf("expired token introspection = %v", expired)
	}
	if resp := e.postForm("/introspect", url.Values{}); resp.status != 400 {
		t.Fatalf("missing token: %d", resp.status)
	}
}

// TestIntrospectDeveloper: an OAuth2 token names its client's developer-id
// only while that developer is active, and never for a client without one.
func TestIntrospectDeveloper(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantStatus(t, e.admin(http.MethodPost, "/oauth-clients", `{"id":"plain-client","tenant":"acme","secret":"plain-client-secret"}`), http.StatusCreated)
	resp := e.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("plain-client", "plain-client-secret")...)
	wantStatus(t, resp, http.StatusOK)
	if m := e.introspect(resp.json(t)["access_token"].(string)); m["active"] != true || m["developer_id"] != nil {
		t.Fatalf("client without a developer: %v", m)
	}
	wantStatus(t, e.admin(http.MethodPost, "/oauth-clients", `{"id":"bad-client","tenant":"acme","developer_id":"dev-none"}`), http.StatusBadRequest)

	tok := e.oauthToken(url.Values{"grant_type": {"client_credentials"}})
	wantField(t, e.introspect(tok), "developer_id", "dev-1001")
	wantStatus(t, e.admin(http.MethodDelete, "/developers/dev-1001", ""), http.StatusOK)
	m := e.introspect(tok)
	wantField(t, m, "active", true)
	if _, named := m["developer_id"]; named {
		t.Fatalf("a revoked developer is still named: %v", m)
	}
}

func TestIntrospectRevokedClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.oauthToken(url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, e.admin(http.MethodDelete, "/oauth-clients/demo-client", ""), http.StatusOK)
	m := e.introspect(tok)
	wantField(t, m, "active", false)
	wantField(t, m, "reason", "revoked")
	resp := e.postForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo-client", "demo-client-secret")...)
	wantStatus(t, resp, http.StatusUnauthorized)
	if !strings.Contains(resp.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatal("missing WWW-Authenticate: Basic")
	}
}
