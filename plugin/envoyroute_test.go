// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credgate/credgate/hostcalls"
)

// envoyRouteConfig binds two routes to Envoy's routes and keeps the path
// matcher for the rest.
const envoyRouteConfig = `{
  "realm": "api.example",
  "jwt": {"keys": [{"kid": "k1", "secret": "k1-secret-0123456789abcdef0123456789"}]},
  "routes": [
    {"name": "orders-policy", "match": {"envoy_route": "orders-create"}, "schemes": ["jwt"], "scopes": ["orders:write"]},
    {"name": "open-policy", "match": {"envoy_route": "public-docs"}, "anonymous": true},
    {"name": "health", "match": {"exact": "/healthz"}, "anonymous": true},
    {"name": "storefront", "match": {"prefix": "/storefront/"}, "schemes": ["jwt"]}
  ]
}`

// TestEnvoyRouteSelectionWasm runs build/credgate.wasm with Envoy's route
// name (xds.route_name) given per stream, as Envoy's router matched it.
func TestEnvoyRouteSelectionWasm(t *testing.T) {
	good := token(t, jwtSecretK1, "k1", nil)
	tests := []struct {
		name       string
		path       string
		route      string
		noRoute    bool
		auth       string
		wantStatus int // 0: forwarded
		wantLog    string
	}{
		{name: "bound route decides, whatever the path", path: "/anything", route: "orders-create", auth: good},
		{name: "bound route refuses without credentials", path: "/healthz", route: "orders-create", wantStatus: 401},
		{name: "bound anonymous route", path: "/storefront/x", route: "public-docs"},
		{name: "unbound named Envoy route fails closed", path: "/healthz", route: "orders-list", wantStatus: 403,
			wantLog: `reason=envoy_route_unbound detail="Envoy route \"orders-list\" is bound to no credgate route"`},
		{name: "unnamed Envoy route goes to the path matcher", path: "/healthz", route: ""},
		{name: "unnamed Envoy route, matcher refuses", path: "/storefront/x", route: "", wantStatus: 401},
		{name: "no Envoy route goes to the path matcher", path: "/healthz", noRoute: true},
		{name: "no Envoy route, nothing matches", path: "/other", noRoute: true, wantStatus: 403},
	}
	for _, p := range hostcalls.Profiles() {
		h := newWasmHost(t, p, baseConfig(envoyRouteConfig, scenarioNow))
		for _, tc := range tests {
			t.Run(string(p)+"/"+tc.name, func(t *testing.T) {
				req := hostcalls.Request{Method: "POST", Path: tc.path, Authority: "api.example", RouteName: tc.route, NoRoute: tc.noRoute}
				if tc.auth != "" {
					req.Headers = [][2]string{{"authorization", "Bearer " + tc.auth}}
				}
				res, err := h.Do(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				status := 0
				if res.LocalResponse != nil {
					status = res.LocalResponse.Status
				}
				if status != tc.wantStatus {
					t.Fatalf("status %d, want %d (%s)", status, tc.wantStatus, res.Response.Body)
				}
				if tc.wantStatus == 0 && res.Upstream == nil {
					t.Fatal("not forwarded")
				}
				if tc.wantLog != "" && !logged(h, tc.wantLog) {
					t.Errorf("no log line with %s", tc.wantLog)
				}
			})
		}
	}
}

func logged(h *hostcalls.Host, s string) bool {
	for _, l := range h.Logs() {
		if strings.Contains(l.Message, s) {
			return true
		}
	}
	return false
}

// TestFilterStateWasm: after real requests through build/credgate.wasm, the
// stream's filter state (what Envoy's access log, RBAC and rate-limit
// filters read, under "wasm.<key>") holds the decision, bounded, and never
// a credential.
func TestFilterStateWasm(t *testing.T) {
	good := token(t, jwtSecretK1, "k1", nil)
	noScope := token(t, jwtSecretK1, "k1", jwt.MapClaims{"scope": "orders:read"})
	evil := token(t, jwtSecretK1, "k1", jwt.MapClaims{"sub": "evil\r\nx", "tenant": strings.Repeat("t", 600)})
	tests := []struct {
		name  string
		path  string
		route string
		auth  string
		want  map[string]string
	}{
		{name: "verified", route: "orders-create", auth: good, want: map[string]string{
			"wasm.credgate.route": "orders-policy", "wasm.credgate.scheme": "jwt", "wasm.credgate.subject": "customer-42",
			"wasm.credgate.tenant": "acme", "wasm.credgate.scopes": "orders:read orders:write"}},
		{name: "missing scope: identity and reason", route: "orders-create", auth: noScope, want: map[string]string{
			"wasm.credgate.route": "orders-policy", "wasm.credgate.scheme": "jwt", "wasm.credgate.subject": "customer-42",
			"wasm.credgate.tenant": "acme", "wasm.credgate.scopes": "orders:read", "wasm.credgate.deny_reason": "insufficient_scope"}},
		{name: "bad token: reason only", route: "orders-create", auth: good + "x", want: map[string]string{
			"wasm.credgate.route": "orders-policy", "wasm.credgate.scheme": "jwt", "wasm.credgate.deny_reason": "jwt_signature"}},
		{name: "no credentials", route: "orders-create", want: map[string]string{
			"wasm.credgate.route": "orders-policy", "wasm.credgate.deny_reason": "credentials_missing"}},
		{name: "an identity that cannot be published is refused, never left out", path: "/storefront/x", auth: evil, want: map[string]string{
			"wasm.credgate.route": "storefront", "wasm.credgate.scheme": "jwt", "wasm.credgate.deny_reason": "identity_unsafe"}},
		{name: "anonymous route", path: "/healthz", want: map[string]string{"wasm.credgate.route": "health"}},
		{name: "no route", path: "/nowhere", want: map[string]string{"wasm.credgate.deny_reason": "no_route"}},
		{name: "unbound Envoy route", route: "orders-list", want: map[string]string{"wasm.credgate.deny_reason": "envoy_route_unbound"}},
	}
	for _, p := range hostcalls.Profiles() {
		h := newWasmHost(t, p, baseConfig(envoyRouteConfig, scenarioNow))
		for _, tc := range tests {
			t.Run(string(p)+"/"+tc.name, func(t *testing.T) {
				path := tc.path
				if path == "" {
					path = "/x"
				}
				req := hostcalls.Request{Method: "POST", Path: path, Authority: "api.example", RouteName: tc.route}
				if tc.auth != "" {
					req.Headers = [][2]string{{"authorization", "Bearer " + tc.auth}}
				}
				res, err := h.Do(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.FilterState) != len(tc.want) {
					t.Errorf("filter state %q, want %q", res.FilterState, tc.want)
				}
				for k, v := range tc.want {
					if got, ok := res.FilterState[k]; !ok || string(got) != v {
						t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
					}
				}
				for k, v := range res.FilterState {
					if tc.auth != "" && (strings.Contains(string(v), tc.auth) || strings.Contains(string(v), jwtSecretK1)) {
						t.Errorf("%s carries a credential", k)
					}
				}
			})
		}
	}
}

// TestFilterStateAfterTokenClusterWasm: decisions finished in the token
// cluster's answer callback (and from the cache) publish the same state.
func TestFilterStateAfterTokenClusterWasm(t *testing.T) {
	e := newClusterEnv(t, hostcalls.ProfileEnvoy139, 1)
	for _, round := range []string{"cluster", "cache"} {
		res := e.call(t, "GET", "/Supplier/Products/List", "ApiKey", "demo-api-key-0001", "x-tenant", "acme")
		want := map[string]string{"wasm.credgate.route": "supplier", "wasm.credgate.scheme": "api_key", "wasm.credgate.tenant": "acme"}
		for k, v := range want {
			if got := string(res.FilterState[k]); got != v {
				t.Errorf("%s: %s = %q, want %q", round, k, got, v)
			}
		}
		if _, denied := res.FilterState["wasm.credgate.deny_reason"]; denied || res.Upstream == nil {
			t.Errorf("%s: refused: %q", round, res.FilterState)
		}
		for k, v := range res.FilterState {
			if strings.Contains(string(v), "demo-api-key") {
				t.Errorf("%s: %s carries the API key", round, k)
			}
		}
	}
	res := e.call(t, "GET", "/Supplier/Products/List", "ApiKey", "demo-api-key-0001", "x-tenant", "globex")
	if got := string(res.FilterState["wasm.credgate.deny_reason"]); got == "" || res.LocalResponse == nil {
		t.Errorf("other tenant: deny reason %q", got)
	}
}
