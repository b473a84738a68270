// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

var demoLogin = map[string]string{"username": "pea", "password": "demo-password", "domain": "demo.acme.test"}

func (e *env) session() string {
	e.t.Helper()
	resp := e.postJSON("/v2/token", demoLogin)
	wantStatus(e.t, resp, http.StatusOK)
	return resp.json(e.t)["token"].(map[string]any)["token"].(string)
}

func TestSessionToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.postJSON("/v2/token", demoLogin)
	wantStatus(t, resp, http.StatusOK)
	tok := resp.json(t)["token"].(map[string]any)
	for k, v := range map[string]any{"id": "user-42", "expire": 15, "username": "pea", "time": "2026-03-04T05:06:07Z",
		"domain": "demo.acme.test", "tenant": "acme"} {
		wantField(t, tok, k, v)
	}
	m := e.introspect(tok["token"].(string))
	for k, v := range map[string]any{"active": true, "sub": "user-42", "username": "pea", "token_type": "session",
		"kind": "session", "tenant": "acme", "scope": "admin", "cache_ttl": 30} {
		wantField(t, m, k, v)
	}
}

func TestSessionLoginFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
	}{
		{name: "wrong password", body: `{"username":"pea","password":"x","domain":"demo.acme.test"}`, status: 401},
		{name: "wrong domain", body: `{"username":"pea","password":"demo-password","domain":"other"}`, status: 401},
		{name: "unknown user", body: `{"username":"zed","password":"demo-password","domain":"demo.acme.test"}`, status: 401},
		{name: "missing domain", body: `{"username":"pea","password":"demo-password"}`, status: 400},
		{name: "unknown field", body: `{"username":"pea","password":"demo-password","domain":"demo.acme.test","x":1}`, status: 400},
		{name: "malformed", body: `{"username":`, status: 400},
		{name: "two objects", body: `{} {}`, status: 400},
		{name: "array", body: `[]`, status: 400},
		{name: "form body", body: `username=pea`, ctype: "application/x-www-form-urlencoded", status: 415},
		{name: "oversized", body: `{"username":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			resp := e.do(http.MethodPost, "/v2/token", ctype, tc.body)
			wantStatus(t, resp, tc.status)
			if m := resp.json(t); m["error"] == "" || m["error_description"] == "" {
				t.Fatalf("error body lacks error fields: %s", resp.body)
			}
		})
	}
}

func TestSessionSlidingExpiry(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		e := newEnvOn(t, open(t))
		tok := e.session()
		// Activity every 10 minutes keeps the session alive well past 15 minutes.
		for i := 1; i <= 4; i++ {
			e.clock.Advance(10 * time.Minute)
			m := e.introspect(tok)
			wantField(t, m, "active", true)
			wantField(t, m, "exp", e.clock.Now().Add(15*time.Minute).Unix())
		}
		// 14m59s idle: still alive; then 15 minutes idle: expired.
		e.clock.Advance(15*time.Minute - time.Second)
		wantField(t, e.introspect(tok), "active", true)
		e.clock.Advance(15 * time.Minute)
		m := e.introspect(tok)
		wantField(t, m, "active", false)
		wantField(t, m, "reason", "unknown")
		// Unused sessions expire after 15 idle minutes.
		idle := e.session()
		e.clock.Advance(15 * time.Minute)
		wantField(t, e.introspect(idle), "active", false)
	})
}

func TestSessionDelete(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		e := newEnvOn(t, open(t))
		head := e.do(http.MethodGet, "/v1/revocations", "", "").json(t)["next"].(string)
		tok := e.session()
		resp := e.do(http.MethodDelete, "/v2/token/"+url.PathEscape(tok), "", "")
		wantStatus(t, resp, http.StatusNoContent)
		wantField(t, e.introspect(tok), "active", false)
		wantStatus(t, e.do(http.MethodDelete, "/v2/token/"+url.PathEscape(tok), "", ""), http.StatusNotFound)
		wantStatus(t, e.do(http.MethodDelete, "/v2/token/never-issued", "", ""), http.StatusNotFound)
		oauth := e.oauthToken(url.Values{"grant_type": {"client_credentials"}})
		wantStatus(t, e.do(http.MethodDelete, "/v2/token/"+oauth, "", ""), http.StatusNotFound)
		wantField(t, e.introspect(oauth), "active", true)

		feed := e.do(http.MethodGet, "/v1/revocations?since="+head, "", "").json(t)
		revs := feed["revocations"].([]any)
		if len(revs) != 1 {
			t.Fatalf("feed = %v", feed)
		}
		rev := revs[0].(map[string]any)
		wantField(t, rev, "kind", "session")
		wantField(t, rev, "digest", tokenapi.Digest(tok))
		if strings.Contains(e.logs.String(), tok) {
			t.Fatal("a session token reached the logs")
		}
	})
}
