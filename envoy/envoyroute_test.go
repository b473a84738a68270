// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
)

// publishedKeys are the filter state keys the plugin sets (policy.State),
// as Envoy stores them: "wasm." + the plugin's key.
var publishedKeys = []string{"wasm.credgate.route", "wasm.credgate.scheme", "wasm.credgate.subject",
	"wasm.credgate.tenant", "wasm.credgate.scopes", "wasm.credgate.deny_reason"}

// namedRoutes maps each named Envoy route of the bootstrap to its route.
func namedRoutes(t *testing.T, bs *bootstrapv3.Bootstrap) map[string]*routev3.Route {
	t.Helper()
	rs, err := routes(bs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*routev3.Route{}
	for _, r := range rs {
		if r.GetName() == "" {
			continue
		}
		if _, dup := out[r.GetName()]; dup {
			t.Errorf("two Envoy routes are named %q: xds.route_name cannot tell them apart", r.GetName())
		}
		out[r.GetName()] = r
	}
	return out
}

// pluginRoutes returns the routes of envoy.yaml's plugin configuration.
func pluginRoutes(t *testing.T, bs *bootstrapv3.Bootstrap) []map[string]any {
	t.Helper()
	var cfg struct {
		Routes []map[string]any `json:"routes"`
	}
	if err := json.Unmarshal([]byte(bootstrapPluginConfig(t, bs)), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Routes
}

// TestEnvoyRouteBindings: every plugin route bound with match.envoy_route
// names an Envoy route of envoy.yaml (a misspelt binding would refuse every
// request of that route), and the example binds at least one.
func TestEnvoyRouteBindings(t *testing.T) {
	bs := loadBootstrap(t, bootstrapPath)
	named := namedRoutes(t, bs)
	bound := 0
	for _, r := range pluginRoutes(t, bs) {
		m, _ := r["match"].(map[string]any)
		name, ok := m["envoy_route"].(string)
		if !ok {
			continue
		}
		bound++
		if named[name] == nil {
			t.Errorf("plugin route %v is bound to Envoy route %q, which envoy.yaml does not define", r["name"], name)
		}
	}
	if bound == 0 {
		t.Error("envoy.yaml shows no plugin route bound to an Envoy route")
	}
	for name, r := range named {
		if r.GetMatch().GetHeaders() != nil || r.GetMatch().GetQueryParameters() != nil {
			// The plugin removes and sets headers, which makes Envoy match
			// the route again: a route chosen by them could change after the
			// plugin applied another route's policy.
			t.Errorf("bound Envoy route %q matches on headers or query parameters", name)
		}
	}
}

// pathMatchOf is the plugin match equivalent to an Envoy route's path match.
func pathMatchOf(r *routev3.Route) map[string]any {
	switch m := r.GetMatch().GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		return map[string]any{"prefix": m.Prefix}
	case *routev3.RouteMatch_Path:
		return map[string]any{"exact": m.Path}
	case *routev3.RouteMatch_SafeRegex:
		return map[string]any{"regex": "^" + m.SafeRegex.GetRegex() + "$"}
	}
	return nil
}

// withPathMatches replaces each envoy_route binding of a decoded plugin
// configuration with the bound Envoy route's path match: the policy Istio
// users get with the plugin's own matcher.
func withPathMatches(t *testing.T, cfg map[string]any, bs *bootstrapv3.Bootstrap) {
	named := namedRoutes(t, bs)
	routes, _ := cfg["routes"].([]any)
	for _, r := range routes {
		m, _ := r.(map[string]any)["match"].(map[string]any)
		if name, ok := m["envoy_route"].(string); ok && named[name] != nil {
			r.(map[string]any)["match"] = pathMatchOf(named[name])
		}
	}
}

// TestAccessLogAndRBACReadThePluginState: the access log prints every key
// the plugin publishes, and the RBAC example matches only keys it publishes
// (a misspelt key would never match, silently).
func TestAccessLogAndRBACReadThePluginState(t *testing.T) {
	bs := loadBootstrap(t, bootstrapPath)
	hcms, err := connectionManagers(bs)
	if err != nil {
		t.Fatal(err)
	}
	hcm := hcms[0]
	var format string
	for _, al := range hcm.GetAccessLog() {
		var out streamv3.StdoutAccessLog
		if err := al.GetTypedConfig().UnmarshalTo(&out); err != nil {
			t.Fatal(err)
		}
		if out.GetLogFormat().GetJsonFormat() == nil {
			t.Error("the access log should be JSON, so no value can split a line")
		}
		b, _ := json.Marshal(out.GetLogFormat().GetJsonFormat().AsMap())
		format = string(b)
	}
	for _, k := range publishedKeys {
		if !strings.Contains(format, "%FILTER_STATE("+k+":PLAIN)%") {
			t.Errorf("the access log does not print %s: %s", k, format)
		}
	}
	if strings.Contains(format, ":PATH") {
		t.Error("the access log prints the path, whose query may carry a credential")
	}
	var rbac *rbacv3.RBAC
	_, wasmAt, _ := wasmFilter(t, bs)
	for i, f := range hcm.GetHttpFilters() {
		var r rbacv3.RBAC
		if f.GetTypedConfig().MessageIs(&r) {
			if err := f.GetTypedConfig().UnmarshalTo(&r); err != nil {
				t.Fatal(err)
			}
			if i < wasmAt {
				t.Error("RBAC runs before the plugin has published the identity")
			}
			rbac = &r
		}
	}
	if rbac == nil {
		t.Fatal("no RBAC example")
	}
	matchers := 0
	for name, p := range rbac.GetRules().GetPolicies() {
		for _, pr := range p.GetPrincipals() {
			if fs := pr.GetFilterState(); fs != nil {
				matchers++
				if !slices.Contains(publishedKeys, fs.GetKey()) {
					t.Errorf("RBAC policy %s reads %q, which the plugin does not publish", name, fs.GetKey())
				}
			}
		}
	}
	if matchers == 0 {
		t.Error("the RBAC example has no filter-state matcher")
	}
}
