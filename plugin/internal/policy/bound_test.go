// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"strings"
	"testing"

	"github.com/credgate/credgate/plugin/internal/authn"
)

func TestBound(t *testing.T) {
	orders := &Route{Name: "orders", EnvoyRoute: "orders-create", Anonymous: true}
	catchAll := &Route{Name: "open", Prefix: "/", Anonymous: true}
	bound := &Policy{Routes: []*Route{orders, catchAll}}
	plain := &Policy{Routes: []*Route{catchAll}}
	tests := []struct {
		name       string
		p          *Policy
		envoyRoute string
		found      bool
		want       *Route
		wantDeny   string
	}{
		{name: "bound route", p: bound, envoyRoute: "orders-create", found: true, want: orders},
		{name: "unbound named route fails closed", p: bound, envoyRoute: "orders-list", found: true, wantDeny: "envoy_route_unbound"},
		{name: "names are exact", p: bound, envoyRoute: "Orders-Create", found: true, wantDeny: "envoy_route_unbound"},
		{name: "route without a name goes to the matcher", p: bound, envoyRoute: "", found: true},
		{name: "no route (NotFound) goes to the matcher", p: bound, found: false},
		{name: "nothing bound: the property is ignored", p: plain, envoyRoute: "orders-list", found: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, d := tc.p.Bound(tc.envoyRoute, tc.found)
			if rt != tc.want {
				t.Errorf("route = %v, want %v", rt, tc.want)
			}
			switch {
			case tc.wantDeny == "" && d != nil:
				t.Errorf("denied: %v", d)
			case tc.wantDeny != "" && (d == nil || d.Reason != tc.wantDeny || d.Status != 403):
				t.Errorf("deny = %v, want 403 %s", d, tc.wantDeny)
			case d != nil && strings.Contains(d.Message, tc.envoyRoute):
				t.Errorf("the public message names the Envoy route: %q", d.Message)
			}
		})
	}
	if !bound.BindsEnvoyRoutes() || plain.BindsEnvoyRoutes() {
		t.Error("BindsEnvoyRoutes wrong")
	}
}

// TestCheckBoundRoute: a bound route is Envoy's choice, so the path-fold
// check (which compares path matches) does not apply to it, while method
// overrides stay refused when any route is method-restricted.
func TestCheckBoundRoute(t *testing.T) {
	orders := &Route{Name: "orders", EnvoyRoute: "orders-create", Anonymous: true}
	admin := &Route{Name: "admin", Prefix: "/admin", Methods: []string{"GET"}, Anonymous: true}
	p := &Policy{Routes: []*Route{orders, admin}}
	req := authn.NewHeaderRequest([][2]string{{":method", "GET"}, {":path", "/Admin"}, {":authority", "a"}})
	if d := p.Check(req, orders); d != nil {
		t.Errorf("bound route refused by the path-fold check: %v", d)
	}
	if d := p.Check(req, nil); d == nil || d.Reason != "path_ambiguous" {
		t.Errorf("unbound request: %v, want path_ambiguous", d)
	}
	override := authn.NewHeaderRequest([][2]string{{":method", "GET"}, {":path", "/x"}, {":authority", "a"}, {"x-http-method-override", "DELETE"}})
	if d := p.Check(override, orders); d == nil || d.Reason != "method_override" {
		t.Errorf("method override on a bound route: %v, want method_override", d)
	}
}

func TestState(t *testing.T) {
	id := &authn.Identity{Subject: "customer-42", Tenant: "acme", Scopes: []string{"a", "b"}, Scheme: "jwt"}
	got := State("orders", "jwt", id, "")
	want := []Property{{StateRoute, "orders"}, {StateScheme, "jwt"}, {StateSubject, "customer-42"},
		{StateTenant, "acme"}, {StateScopes, "a b"}}
	if !equalProps(got, want) {
		t.Errorf("allow: %v, want %v", got, want)
	}
	got = State("", "", nil, "no_route")
	if !equalProps(got, []Property{{StateDenyReason, "no_route"}}) {
		t.Errorf("deny: %v", got)
	}
	// Unsafe values are left out, never cut or cleaned.
	long := strings.Repeat("s", MaxStateValue+1)
	got = State("r", "jwt", &authn.Identity{Subject: "evil\nline", Tenant: long}, "insufficient_scope")
	if !equalProps(got, []Property{{StateRoute, "r"}, {StateScheme, "jwt"}, {StateDenyReason, "insufficient_scope"}}) {
		t.Errorf("unsafe: %v", got)
	}
}

func equalProps(a, b []Property) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
