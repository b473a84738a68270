// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadRepoBootstrap(t *testing.T) *Bootstrap {
	t.Helper()
	bs, err := LoadBootstrap(filepath.Join("..", "..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// TestRepoBootstrap reads envoy/envoy.yaml: its listener, route table, Wasm
// filter and clusters.
func TestRepoBootstrap(t *testing.T) {
	bs := loadRepoBootstrap(t)
	if bs.Listen != "0.0.0.0:10000" {
		t.Errorf("listen %q", bs.Listen)
	}
	want := map[string]string{"upstream_api": "http://upstream:8080", "token_cluster": "http://tokencluster:9090"}
	if len(bs.Clusters) != len(want) {
		t.Errorf("clusters %v, want %v", bs.Clusters, want)
	}
	for name, u := range want {
		if bs.Clusters[name] != u {
			t.Errorf("cluster %s = %q, want %q", name, bs.Clusters[name], u)
		}
	}
	p := bs.Plugin
	if p.Name != "credgate" || !p.FailClosed || p.File != "/etc/envoy/credgate.wasm" {
		t.Errorf("plugin %+v", p)
	}
	var cfg struct {
		TokenCluster struct{ Cluster string } `json:"token_cluster"`
		Routes       []json.RawMessage
	}
	if err := json.Unmarshal(p.Config, &cfg); err != nil {
		t.Fatalf("plugin configuration is not JSON: %v", err)
	}
	if cfg.TokenCluster.Cluster != "token_cluster" || len(cfg.Routes) == 0 {
		t.Errorf("plugin configuration %s", p.Config)
	}
	if len(p.VMConfig) != 0 {
		t.Errorf("vm configuration %q, want none", p.VMConfig)
	}
}

// TestRepoRouteTable: issuance paths go to the token cluster, everything else
// to the API, first match winning, queries ignored.
func TestRepoRouteTable(t *testing.T) {
	bs := loadRepoBootstrap(t)
	tests := map[string]string{
		"/token":                  "token_cluster",
		"/token?x=1":              "token_cluster",
		"/v2/token":               "token_cluster",
		"/v2/token/abc":           "token_cluster",
		"/v0/tokens":              "token_cluster",
		"/tokens":                 "token_cluster",
		"/v0/tokens/x":            "upstream_api",
		"/v0/orders":              "upstream_api",
		"/v1/partners/token":      "token_cluster",
		"/v1/customers/login":     "token_cluster",
		"/v1/sso":                 "token_cluster",
		"/tokenx":                 "upstream_api",
		"/v2/tokens":              "upstream_api",
		"/v1/designs/7":           "upstream_api",
		"/v2/contacts?page=2":     "upstream_api",
		"/Supplier/Products/List": "upstream_api",
		"/":                       "upstream_api",
	}
	for path, cluster := range tests {
		rt, ok := Lookup(bs.Routes, path)
		if !ok || rt.Cluster != cluster {
			t.Errorf("%s → %q (found %v), want %s", path, rt.Cluster, ok, cluster)
		}
	}
	if rt, _ := Lookup(bs.Routes, "/token"); rt.Timeout != 5*time.Second {
		t.Errorf("/token timeout %v, want 5s", rt.Timeout)
	}
}

const inline = `
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 8000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: t
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: {safe_regex: {regex: "/items/[0-9]+"}}
                route: {cluster: a}
              - match: {path: "/exact"}
                route: {cluster: b}
              - match: {prefix: "/"}
                route: {cluster: b}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: p
                vm_config:
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: /m.wasm}}
                  configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "vm"}
                  environment_variables:
                    host_env_keys: [CREDGATE_TEST_HOST_KEY, CREDGATE_TEST_ABSENT_KEY]
                    key_values: {GOGC: "50"}
                configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "{}"}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: a
    load_assignment:
      cluster_name: a
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: a.local, port_value: 81}}}}]}]
  - name: b
    load_assignment:
      cluster_name: b
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 82}}}}]}]
`

// TestParseInline covers safe_regex (a full match, as in Envoy), names, the
// VM configuration and the VM environment.
func TestParseInline(t *testing.T) {
	t.Setenv("CREDGATE_TEST_HOST_KEY", "from-host")
	bs, err := ParseBootstrap([]byte(inline))
	if err != nil {
		t.Fatal(err)
	}
	if bs.Plugin.Name != "p" || string(bs.Plugin.VMConfig) != "vm" || string(bs.Plugin.Config) != "{}" {
		t.Errorf("plugin %+v", bs.Plugin)
	}
	if got := strings.Join(bs.Plugin.Env, " "); got != "CREDGATE_TEST_HOST_KEY=from-host GOGC=50" {
		t.Errorf("VM environment %q", got)
	}
	if want := (Limits{MaxHeaderBytes: 60 << 10, MaxHeaders: 100, IdleTimeout: time.Hour}); bs.Limits != want {
		t.Errorf("Envoy's default limits: %+v, want %+v", bs.Limits, want)
	}
	if bs.Clusters["a"] != "http://a.local:81" || bs.Clusters["b"] != "http://10.0.0.2:82" {
		t.Errorf("clusters %v", bs.Clusters)
	}
	for path, cluster := range map[string]string{"/items/12": "a", "/items/12/x": "b", "/x/items/12": "b", "/exact": "b"} {
		if rt, _ := Lookup(bs.Routes, path); rt.Cluster != cluster {
			t.Errorf("%s → %q, want %s", path, rt.Cluster, cluster)
		}
	}
}

// TestRouteNamesAndCase: the gateway knows each route's name (the plugin's
// xds.route_name) and honours case_sensitive false on prefix and path
// matches, as Envoy does; envoy.yaml's storefront route is named.
func TestRouteNamesAndCase(t *testing.T) {
	doc := strings.Replace(inline, `{safe_regex: {regex: "/items/[0-9]+"}}`, `{prefix: "/Items/", case_sensitive: false}`, 1)
	doc = strings.Replace(doc, "- match: {prefix: \"/Items/\"", "- name: items\n                match: {prefix: \"/Items/\"", 1)
	bs, err := ParseBootstrap([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/items/12": "items", "/ITEMS/12?x=1": "items", "/Item/12": "", "/exact": ""} {
		rt, ok := Lookup(bs.Routes, path)
		if !ok || rt.Name != want {
			t.Errorf("%s → route %q (%v), want %q", path, rt.Name, ok, want)
		}
	}
	repo := loadRepoBootstrap(t)
	if rt, _ := Lookup(repo.Routes, "/Storefront/profile"); rt.Name != "storefront" {
		t.Errorf("envoy.yaml: /Storefront/profile → route %q, want storefront", rt.Name)
	}
}

// TestParseRefuses: what the gateway cannot honour is an error, not a
// silently different route table.
func TestParseRefuses(t *testing.T) {
	tests := map[string]struct{ from, to, err string }{
		"header match":    {`{safe_regex: {regex: "/items/[0-9]+"}}`, `{prefix: "/", headers: [{name: x, present_match: true}]}`, "header"},
		"unknown cluster": {`{cluster: a}`, `{cluster: c}`, "unknown cluster"},
		"bad yaml":        {`routes:`, `routes: [`, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(inline, tc.from, tc.to, 1)
			_, err := ParseBootstrap([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one about %q", err, tc.err)
			}
		})
	}
}

// TestClusterOverrides maps the bootstrap's compose hostnames to local
// endpoints.
func TestClusterOverrides(t *testing.T) {
	bs := loadRepoBootstrap(t)
	err := applyOverrides(bs, map[string]string{"token_cluster": "http://127.0.0.1:9090/", "upstream_api": "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if bs.Clusters["token_cluster"] != "http://127.0.0.1:9090" || bs.Clusters["upstream_api"] != "http://127.0.0.1:8080" {
		t.Errorf("clusters %v", bs.Clusters)
	}
	if err := applyOverrides(bs, map[string]string{"nope": "http://127.0.0.1:1"}); err == nil {
		t.Error("an unknown cluster was accepted")
	}
	if err := applyOverrides(bs, map[string]string{"upstream_api": "127.0.0.1:1"}); err == nil {
		t.Error("an endpoint without http:// was accepted")
	}
}

func TestListenAddr(t *testing.T) {
	tests := []struct{ bootstrap, override, want string }{
		{"0.0.0.0:10000", "", "127.0.0.1:10000"},
		{"0.0.0.0:10000", "10001", "127.0.0.1:10001"},
		{"0.0.0.0:10000", "0.0.0.0:10002", "0.0.0.0:10002"},
		{"0.0.0.0:10000", "127.0.0.1:0", "127.0.0.1:0"},
	}
	for _, tc := range tests {
		if got, err := listenAddr(tc.bootstrap, tc.override); err != nil || got != tc.want {
			t.Errorf("listenAddr(%q, %q) = %q, %v; want %q", tc.bootstrap, tc.override, got, err, tc.want)
		}
	}
	if _, err := listenAddr("0.0.0.0:10000", "localhost"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

// TestFailurePolicy: FAIL_OPEN is read as such, so Start can refuse it.
func TestFailurePolicy(t *testing.T) {
	doc := strings.Replace(inline, "name: p\n", "name: p\n                failure_policy: FAIL_OPEN\n", 1)
	bs, err := ParseBootstrap([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if bs.Plugin.FailClosed {
		t.Error("FAIL_OPEN read as fail closed")
	}
	if _, err := Start(t.Context(), Options{Bootstrap: writeTemp(t, doc)}); err == nil || !strings.Contains(err.Error(), "FAIL_CLOSED") {
		t.Errorf("Start with FAIL_OPEN: %v", err)
	}
}

func writeTemp(t *testing.T, doc string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
