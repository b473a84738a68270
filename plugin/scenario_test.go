// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The scenario table runs in every engine: "go" (the filter in-process on the
// SDK's proxytest host) and "wasm" (build/credgate.wasm on the hostcalls host,
// under each WASI profile). Every scenario asserts the local reply or the
// headers the upstream received, never just the returned action.

var (
	scenarioNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	jwtSecretK1 = "k1-secret-0123456789abcdef0123456789"
	jwtSecretK2 = "k2-secret-0123456789abcdef0123456789"
)

const scenarioConfig = `{
  "realm": "api.example",
  "jwt": {
    "keys": [{"kid": "k1", "secret": "k1-secret-0123456789abcdef0123456789"},
             {"kid": "k2", "secret": "k2-secret-0123456789abcdef0123456789"}],
    "leeway_seconds": 30
  },
  "routes": [
    {"name": "health", "match": {"exact": "/healthz"}, "anonymous": true},
    {"name": "orders-create", "match": {"prefix": "/Orders/Create", "methods": ["POST"]},
     "schemes": ["jwt"], "scopes": ["orders:write"]},
    {"name": "storefront", "match": {"prefix": "/storefront/"}, "schemes": ["jwt"]}
  ]
}`

// outcome is what a client and the upstream saw for one request.
type outcome struct {
	// status is the local reply's status, or 0 when the request went upstream.
	status   int
	body     string
	headers  map[string]string
	upstream map[string]string
}

// engine runs one request through the plugin.
type engine interface {
	do(t *testing.T, method, path string, headers [][2]string) outcome
	logs() []string
}

type scenario struct {
	name    string
	method  string
	path    string
	headers [][2]string
	// wantStatus is the expected local reply status; 0 means forwarded upstream.
	wantStatus int
	// wantUpstream lists headers the upstream must see; an empty value means
	// the header must be absent.
	wantUpstream map[string]string
	// wantBody is a substring of the local reply body.
	wantBody string
	// wantChallenge is a substring of the WWW-Authenticate header.
	wantChallenge string
}

func token(t testing.TB, secret, kid string, claims jwt.MapClaims) string {
	t.Helper()
	base := jwt.MapClaims{
		"sub": "customer-42", "tenant": "acme", "scope": "orders:read orders:write",
		"iat": scenarioNow.Add(-time.Minute).Unix(), "exp": scenarioNow.Add(10 * time.Minute).Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, base)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func noneToken(t testing.TB) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "x", "exp": scenarioNow.Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scenarios(t testing.TB) []scenario {
	good := token(t, jwtSecretK1, "k1", nil)
	spoof := [][2]string{{"x-credgate-subject", "admin"}, {"X-Credgate-Tenant", "evil"}, {"x-credgate-extra", "1"},
		{"x_credgate_subject", "admin"}, {"X_Credgate_Scopes", "admin"}}
	return []scenario{
		{name: "jwt valid reaches upstream with identity", method: "POST", path: "/Orders/Create",
			headers: [][2]string{{"authorization", "Bearer " + good}},
			wantUpstream: map[string]string{"x-credgate-subject": "customer-42", "x-credgate-tenant": "acme",
				"x-credgate-scopes": "orders:read orders:write", "x-credgate-scheme": "jwt", "authorization": ""}},
		{name: "line breaks in a claim are refused, never passed on", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", map[string]any{"sub": "evil\r\nx-injected: 1\u0000", "tenant": "acme\nx"})}},
			wantStatus: 401, wantBody: "cannot be passed on"},
		{name: "a control character in a subject is refused (RBAC would not see it)", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", map[string]any{"sub": "customer-blocked\u0001"})}},
			wantStatus: 401, wantBody: "cannot be passed on"},
		{name: "an oversized subject is refused", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", map[string]any{"sub": strings.Repeat("s", 513)})}},
			wantStatus: 401, wantBody: "cannot be passed on"},
		{name: "jwt rotated key k2", method: "POST", path: "/Orders/Create",
			headers:      [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK2, "k2", nil)}},
			wantUpstream: map[string]string{"x-credgate-subject": "customer-42"}},
		{name: "spoofed identity headers are replaced", method: "POST", path: "/Orders/Create",
			headers: append([][2]string{{"authorization", "Bearer " + good}}, spoof...),
			wantUpstream: map[string]string{"x-credgate-subject": "customer-42", "x-credgate-tenant": "acme",
				"x-credgate-extra": "", "x_credgate_subject": "", "x_credgate_scopes": ""}},
		{name: "spoofed identity headers are dropped on anonymous routes", method: "GET", path: "/healthz",
			headers: spoof, wantUpstream: map[string]string{"x-credgate-subject": "", "x-credgate-tenant": "", "x-credgate-extra": "",
				"x_credgate_subject": "", "x_credgate_scopes": ""}},
		{name: "no credentials", method: "POST", path: "/Orders/Create", wantStatus: 401,
			wantBody: "This route accepts: jwt", wantChallenge: `Bearer realm="api.example"`},
		{name: "no Bearer prefix", method: "POST", path: "/Orders/Create",
			headers: [][2]string{{"authorization", good}}, wantStatus: 401, wantBody: "Credentials are required"},
		{name: "bad signature", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, "wrong-secret-0123456789abcdef012345", "k1", nil)}},
			wantStatus: 401, wantBody: "signature", wantChallenge: `error="invalid_token"`},
		{name: "expired", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", jwt.MapClaims{"exp": scenarioNow.Add(-time.Hour).Unix()})}},
			wantStatus: 401, wantBody: "expired", wantChallenge: `error="invalid_token"`},
		{name: "alg none", method: "POST", path: "/Orders/Create",
			headers: [][2]string{{"authorization", "Bearer " + noneToken(t)}}, wantStatus: 401},
		{name: "missing scope is 403", method: "POST", path: "/Orders/Create",
			headers:    [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", jwt.MapClaims{"scope": "orders:read"})}},
			wantStatus: 403, wantChallenge: `error="insufficient_scope"`},
		{name: "route without scopes accepts", method: "GET", path: "/storefront/cart",
			headers:      [][2]string{{"authorization", "Bearer " + token(t, jwtSecretK1, "k1", jwt.MapClaims{"scope": ""})}},
			wantUpstream: map[string]string{"x-credgate-subject": "customer-42", "x-credgate-scopes": ""}},
		{name: "unmatched route is refused", method: "GET", path: "/admin", wantStatus: 403},
		{name: "path traversal into a protected route is refused", method: "POST", path: "/healthz/../Orders/Create",
			wantStatus: 400, wantBody: "normal form"},
		{name: "encoded traversal is refused", method: "GET", path: "/storefront/%2e%2e/admin", wantStatus: 400},
		{name: "method not in route is unmatched", method: "GET", path: "/Orders/Create",
			headers: [][2]string{{"authorization", "Bearer " + good}}, wantStatus: 403},
	}
}

func runScenarios(t *testing.T, e engine) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			got := e.do(t, sc.method, sc.path, sc.headers)
			if got.status != sc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", got.status, sc.wantStatus, got.body)
			}
			if sc.wantStatus != 0 {
				checkReply(t, sc, got)
				return
			}
			for name, want := range sc.wantUpstream {
				if have, ok := got.upstream[name]; (want == "" && ok) || have != want {
					t.Errorf("upstream %s = %q (present %v), want %q", name, have, ok, want)
				}
			}
		})
	}
}

func checkReply(t *testing.T, sc scenario, got outcome) {
	t.Helper()
	if !json.Valid([]byte(got.body)) {
		t.Errorf("reply body is not JSON: %s", got.body)
	}
	if !strings.Contains(got.body, sc.wantBody) {
		t.Errorf("body %s does not contain %q", got.body, sc.wantBody)
	}
	if sc.wantChallenge != "" && !strings.Contains(got.headers["www-authenticate"], sc.wantChallenge) {
		t.Errorf("www-authenticate %q does not contain %q", got.headers["www-authenticate"], sc.wantChallenge)
	}
}

func headerMap(pairs [][2]string) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		m[strings.ToLower(kv[0])] = kv[1]
	}
	return m
}
