// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strings"
	"testing"
)

func TestEnvoyRouteBinding(t *testing.T) {
	cfg, err := Parse([]byte(`{"jwt":{"keys":[` + key + `]},"routes":[
	  {"name": "orders", "match": {"envoy_route": "orders-create"}, "schemes": ["jwt"]},
	  {"name": "health", "match": {"exact": "/healthz"}, "anonymous": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy
	if !p.BindsEnvoyRoutes() {
		t.Fatal("BindsEnvoyRoutes = false")
	}
	if rt, d := p.Bound("orders-create", true); d != nil || rt == nil || rt.Name != "orders" {
		t.Fatalf("Bound(orders-create) = %v, %v", rt, d)
	}
	// The path matcher never selects a bound route, whatever the path.
	for _, path := range []string{"/", "/orders-create", ""} {
		if rt := p.Match("GET", "api.example", path); rt != nil {
			t.Errorf("Match(%q) = %q, want none", path, rt.Name)
		}
	}
}

func TestEnvoyRouteErrors(t *testing.T) {
	route := func(s string) string { return `{"jwt":{"keys":[` + key + `]},"routes":[` + s + `]}` }
	tests := []struct {
		name, json, want string
	}{
		{name: "with a path", json: route(`{"name":"a","match":{"envoy_route":"x","prefix":"/"},"schemes":["jwt"]}`),
			want: "routes[0].match: envoy_route selects the route by Envoy's route table: match prefix in the Envoy route"},
		{name: "with methods", json: route(`{"name":"a","match":{"envoy_route":"x","methods":["GET"]},"schemes":["jwt"]}`),
			want: "routes[0].match: envoy_route selects"},
		{name: "with hosts", json: route(`{"name":"a","match":{"envoy_route":"x","hosts":["a.example"]},"schemes":["jwt"]}`),
			want: "match hosts in the Envoy route"},
		{name: "empty", json: route(`{"name":"a","match":{"envoy_route":""},"schemes":["jwt"]}`), want: "routes[0].match.envoy_route: must be"},
		{name: "not a string", json: route(`{"name":"a","match":{"envoy_route":3},"schemes":["jwt"]}`), want: "routes[0].match.envoy_route: must be"},
		{name: "control character", json: route(`{"name":"a","match":{"envoy_route":"a\nb"},"schemes":["jwt"]}`), want: "routes[0].match.envoy_route: must be"},
		{name: "too long", json: route(`{"name":"a","match":{"envoy_route":"` + strings.Repeat("r", maxEnvoyRoute+1) + `"},"schemes":["jwt"]}`),
			want: "routes[0].match.envoy_route: must be"},
		{name: "bound twice", json: route(`{"name":"a","match":{"envoy_route":"x"},"schemes":["jwt"]},{"name":"b","match":{"prefix":"/"},"anonymous":true},` +
			`{"name":"c","match":{"envoy_route":"x"},"anonymous":true}`),
			want: `routes[2].match.envoy_route: Envoy route "x" is already bound by routes[0]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
