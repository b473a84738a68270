// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
)

// TestEveryYAMLIsValidated fails when a YAML file lands in envoy/ or
// envoy/istio/ that no test knows how to validate.
func TestEveryYAMLIsValidated(t *testing.T) {
	bootstraps, istio := yamlFiles(t, "."), yamlFiles(t, "istio")
	if len(bootstraps) == 0 || len(istio) == 0 {
		t.Fatalf("no YAML found: %v %v", bootstraps, istio)
	}
	for _, path := range bootstraps {
		t.Run(path, func(t *testing.T) { loadBootstrap(t, path) })
	}
	for _, path := range istio {
		t.Run(path, func(t *testing.T) {
			for _, doc := range loadIstioDocs(t, path) {
				if _, ok := istioKinds[doc.apiVersion+" "+doc.kind]; !ok {
					t.Errorf("%s: %s %s has no validation in istio_test.go", path, doc.apiVersion, doc.kind)
				}
			}
		})
	}
}

// yamlFiles lists the .yaml and .yml files of dir.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, ext := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, ext))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

// TestBootstrap checks what a reviewer of envoy.yaml would check.
func TestBootstrap(t *testing.T) {
	bs := loadBootstrap(t, bootstrapPath)
	tests := []struct {
		name  string
		check func(t *testing.T, bs *bootstrapv3.Bootstrap)
	}{
		{
			name: "admin on 9901",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				if got := bs.GetAdmin().GetAddress().GetSocketAddress().GetPortValue(); got != 9901 {
					t.Errorf("admin port %d, want 9901", got)
				}
				if got := bs.GetAdmin().GetAddress().GetSocketAddress().GetAddress(); got != "127.0.0.1" {
					t.Errorf("admin address %q, want 127.0.0.1: the admin interface can reconfigure and stop Envoy", got)
				}
			},
		},
		{
			name: "edge hardening of the connection manager",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				hcms, _ := connectionManagers(bs)
				h := hcms[0]
				if got := h.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); got != corev3.HttpProtocolOptions_REJECT_REQUEST {
					t.Errorf("headers_with_underscores_action %v, want REJECT_REQUEST", got)
				}
				if !h.GetNormalizePath().GetValue() || !h.GetMergeSlashes() {
					t.Error("normalize_path and merge_slashes must be on")
				}
				if !h.GetStripTrailingHostDot() {
					t.Error("strip_trailing_host_dot must be on")
				}
				if h.GetRequestHeadersTimeout() == nil || h.GetCommonHttpProtocolOptions().GetIdleTimeout() == nil ||
					h.GetMaxRequestHeadersKb().GetValue() == 0 || h.GetCommonHttpProtocolOptions().GetMaxHeadersCount().GetValue() == 0 {
					t.Error("request_headers_timeout, idle_timeout, max_request_headers_kb and max_headers_count must be set")
				}
				mons := bs.GetOverloadManager().GetResourceMonitors()
				if len(mons) == 0 || mons[0].GetName() != "envoy.resource_monitors.global_downstream_max_connections" {
					t.Error("the overload manager must bound downstream connections")
				}
			},
		},
		{
			name: "one listener on 10000",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				ls := bs.GetStaticResources().GetListeners()
				if len(ls) != 1 {
					t.Fatalf("%d listeners, want 1", len(ls))
				}
				if got := ls[0].GetAddress().GetSocketAddress().GetPortValue(); got != 10000 {
					t.Errorf("listener port %d, want 10000", got)
				}
			},
		},
		{
			name: "wasm filter before the router, router last",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				_, i, n := wasmFilter(t, bs)
				hcms, _ := connectionManagers(bs)
				filters := hcms[0].GetHttpFilters()
				if last := filters[n-1].GetName(); last != "envoy.filters.http.router" {
					t.Errorf("last HTTP filter %q, want envoy.filters.http.router", last)
				}
				if i >= n-1 {
					t.Errorf("wasm filter at %d of %d: it must run before the router", i, n)
				}
			},
		},
		{
			name: "V8 runtime, FAIL_CLOSED, the module compose mounts",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				pc, _, _ := wasmFilter(t, bs)
				if got := pc.GetVmConfig().GetRuntime(); got != "envoy.wasm.runtime.v8" {
					t.Errorf("runtime %q, want envoy.wasm.runtime.v8", got)
				}
				if got := pc.GetFailurePolicy(); got != wasmv3.FailurePolicy_FAIL_CLOSED {
					t.Errorf("failure_policy %v, want FAIL_CLOSED", got)
				}
				if pc.GetFailOpen() {
					t.Error("fail_open is set")
				}
				if keys := pc.GetVmConfig().GetEnvironmentVariables().GetHostEnvKeys(); !slices.Contains(keys, "CREDGATE_VERIFY_TOKEN") {
					t.Errorf("vm_config.environment_variables.host_env_keys %v must pass CREDGATE_VERIFY_TOKEN", keys)
				}
				if got := pc.GetVmConfig().GetCode().GetLocal().GetFilename(); got != "/etc/envoy/credgate.wasm" {
					t.Errorf("module file %q, want /etc/envoy/credgate.wasm (where e2e/docker-compose.yml mounts it)", got)
				}
			},
		},
		{
			name: "every route has a timeout and a defined cluster",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				rs, err := routes(bs)
				if err != nil {
					t.Fatal(err)
				}
				defined := clusterNames(bs)
				for _, r := range rs {
					c := r.GetRoute().GetCluster()
					if !defined[c] {
						t.Errorf("route %v: cluster %q is not defined", r.GetMatch(), c)
					}
					if r.GetRoute().GetTimeout() == nil {
						t.Errorf("route %v has no timeout", r.GetMatch())
					}
				}
			},
		},
		{
			name: "issuance paths go to token_cluster, the rest to upstream_api",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				rs, _ := routes(bs)
				want := map[string]string{
					"/token": "token_cluster", "/v2/token": "token_cluster", "/v0/tokens": "token_cluster", "/tokens": "token_cluster",
					"/v1/partners/token": "token_cluster", "/v1/customers/login": "token_cluster", "/v1/sso": "token_cluster",
					"/v2/token/": "token_cluster", "/": "upstream_api",
				}
				for _, r := range rs {
					m := r.GetMatch()
					key := m.GetPath() + m.GetPrefix()
					if w, ok := want[key]; ok {
						if got := r.GetRoute().GetCluster(); got != w {
							t.Errorf("%s goes to %q, want %q", key, got, w)
						}
						delete(want, key)
					}
				}
				for key := range want {
					t.Errorf("no route for %s", key)
				}
			},
		},
		{
			name: "token_cluster has a health check, circuit breakers and a short connect timeout",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				for _, c := range bs.GetStaticResources().GetClusters() {
					if c.GetName() != "token_cluster" {
						continue
					}
					if hc := c.GetHealthChecks(); len(hc) == 0 || hc[0].GetHttpHealthCheck().GetPath() != "/readyz" {
						t.Errorf("health checks %v, want an HTTP check of /readyz (readiness)", hc)
					}
					if th := c.GetCircuitBreakers().GetThresholds(); len(th) == 0 || th[0].GetMaxPendingRequests() == nil {
						t.Errorf("circuit breakers %v, want thresholds with max_pending_requests", th)
					}
					if d := c.GetConnectTimeout().AsDuration(); d <= 0 || d > time.Second {
						t.Errorf("connect_timeout %v, want (0, 1s]", d)
					}
					return
				}
				t.Error("no token_cluster")
			},
		},
		{
			name: "the plugin calls a cluster the bootstrap defines",
			check: func(t *testing.T, bs *bootstrapv3.Bootstrap) {
				var cfg struct {
					TokenCluster struct {
						Cluster string `json:"cluster"`
					} `json:"token_cluster"`
				}
				if err := json.Unmarshal([]byte(bootstrapPluginConfig(t, bs)), &cfg); err != nil {
					t.Fatal(err)
				}
				if !clusterNames(bs)[cfg.TokenCluster.Cluster] {
					t.Errorf("token_cluster.cluster %q is not a cluster of the bootstrap", cfg.TokenCluster.Cluster)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, bs) })
	}
}

// TestBootstrapPluginConfiguration starts the real module with the
// configuration envoy.yaml gives it, under every supported Envoy profile.
func TestBootstrapPluginConfiguration(t *testing.T) {
	cfg := bootstrapPluginConfig(t, loadBootstrap(t, bootstrapPath))
	if err := startPlugin(t, []byte(cfg)); err != nil {
		t.Fatalf("the plugin refuses envoy.yaml's configuration: %v", err)
	}
}

// TestBrokenBootstrapRefused edits a copy of envoy.yaml in ways Envoy would
// refuse (or route to nowhere) and checks that the validation fails.
func TestBrokenBootstrapRefused(t *testing.T) {
	orig, err := os.ReadFile(bootstrapPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		old     string
		new     string
		wantErr string
	}{
		{
			name:    "unknown field",
			old:     "stat_prefix: credgate",
			new:     "stat_prefix: credgate\n          stat_prefx: typo",
			wantErr: "stat_prefx",
		},
		{
			name:    "route to a missing cluster",
			old:     "route: {cluster: upstream_api, timeout: 15s}",
			new:     "route: {cluster: upstream_apy, timeout: 15s}",
			wantErr: "upstream_apy",
		},
		{
			name:    "unknown typed_config @type",
			old:     "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
			new:     "type.googleapis.com/envoy.extensions.filters.http.routr.v3.Router",
			wantErr: "routr",
		},
		{
			name:    "port out of range",
			old:     "port_value: 10000",
			new:     "port_value: 70000",
			wantErr: "PortValue",
		},
		{
			name:    "invalid failure policy inside the wasm Any",
			old:     "failure_policy: FAIL_CLOSED",
			new:     "failure_policy: FAIL_SHUT",
			wantErr: "FAIL_SHUT",
		},
		{
			name:    "empty cluster name",
			old:     "- name: token_cluster\n    type: STRICT_DNS",
			new:     "- name: \"\"\n    type: STRICT_DNS",
			wantErr: "Cluster.Name",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("envoy.yaml no longer contains %q; update this test", tc.old)
			}
			broken := strings.Replace(string(orig), tc.old, tc.new, 1)
			_, err := parseBootstrap([]byte(broken))
			if err == nil {
				t.Fatal("the broken bootstrap was accepted")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}
