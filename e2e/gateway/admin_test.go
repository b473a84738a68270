// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestRepoStatsTags applies envoy/envoy.yaml's stats_config to every shape
// of the plugin's stat names, as Envoy does, and checks the Prometheus name
// and labels each gets.
func TestRepoStatsTags(t *testing.T) {
	bs := loadRepoBootstrap(t)
	if bs.Admin != "127.0.0.1:9901" {
		t.Errorf("admin %q", bs.Admin)
	}
	tests := []struct {
		stat, prom string
		tags       []Tag
	}{
		{"wasmcustom.credgate.requests.storefront.jwt.allow", "credgate_requests",
			[]Tag{{"route", "storefront"}, {"scheme", "jwt"}, {"outcome", "allow"}}},
		{"wasmcustom.credgate.requests.zakeke-order.oauth2_bearer.unavailable", "credgate_requests",
			[]Tag{{"route", "zakeke-order"}, {"scheme", "oauth2_bearer"}, {"outcome", "unavailable"}}},
		{"wasmcustom.credgate.requests.-.none.deny", "credgate_requests",
			[]Tag{{"route", "-"}, {"scheme", "none"}, {"outcome", "deny"}}},
		{"wasmcustom.credgate.denials.supplier.api_key_wrong_tenant", "credgate_denials",
			[]Tag{{"route", "supplier"}, {"reason", "api_key_wrong_tenant"}}},
		{"wasmcustom.credgate.denials.-.path_not_normalized", "credgate_denials",
			[]Tag{{"route", "-"}, {"reason", "path_not_normalized"}}},
		{"wasmcustom.credgate.vm.3.heap_bytes", "credgate_vm_heap_bytes", []Tag{{"vm_slot", "3"}}},
		{"wasmcustom.credgate.vm.overflow.gc_corrections", "credgate_vm_gc_corrections", []Tag{{"vm_slot", "overflow"}}},
		{"wasmcustom.credgate.cache.hit", "credgate_cache_hit", nil},
		{"wasmcustom.credgate.cluster.latency_ms", "credgate_cluster_latency_ms", nil},
		{"wasmcustom.credgate.revocations.evicted", "credgate_revocations_evicted", nil},
		// Not a plugin stat: Envoy's own, with the envoy_ prefix.
		{"server.live", "envoy_server_live", nil},
	}
	for _, tc := range tests {
		extracted, tags := ExtractTags(bs.StatsTags, tc.stat)
		prom, ok := PrometheusName(extracted)
		if !ok || prom != tc.prom || !reflect.DeepEqual(tags, tc.tags) {
			t.Errorf("%s → %s %v (%v), want %s %v", tc.stat, prom, tags, ok, tc.prom, tc.tags)
		}
	}
}

// TestExtractTags follows Envoy's rules: the first group is cut, the second
// (else the first) is the value, an empty first group adds nothing, fixed
// values tag every stat.
func TestExtractTags(t *testing.T) {
	doc := strings.Replace(inline, "static_resources:", `stats_config:
  stats_tags:
  - {tag_name: one, regex: '^a(\.b)\.'}
  - {tag_name: two, regex: '^a\.b(\.([^.]*))\.d$'}
  - {tag_name: region, fixed_value: eu}
static_resources:`, 1)
	bs, err := ParseBootstrap([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stat, extracted string
		tags            []Tag
	}{
		{"a.b.c.d", "a.d", []Tag{{"one", ".b"}, {"two", "c"}, {"region", "eu"}}},
		// An empty second group: the first is the value.
		{"a.b..d", "a.d", []Tag{{"one", ".b"}, {"two", "."}, {"region", "eu"}}},
		{"a.c.d", "a.c.d", []Tag{{"region", "eu"}}},
		{"x.y", "x.y", []Tag{{"region", "eu"}}},
	} {
		extracted, tags := ExtractTags(bs.StatsTags, tc.stat)
		if extracted != tc.extracted || !reflect.DeepEqual(tags, tc.tags) {
			t.Errorf("%s → %q %v, want %q %v", tc.stat, extracted, tags, tc.extracted, tc.tags)
		}
	}
}

func TestStatsConfigRefused(t *testing.T) {
	for name, tc := range map[string]struct{ tags, err string }{
		"twice":      {`[{tag_name: a, regex: '(x)'}, {tag_name: a, regex: '(y)'}]`, "specified twice"},
		"no group":   {`[{tag_name: a, regex: 'x'}]`, "capture group"},
		"bad regex":  {`[{tag_name: a, regex: '(x'}]`, "stats_tags[0].regex"},
		"no value":   {`[{tag_name: envoy.cluster_name}]`, "default regex"},
		"empty name": {`[{regex: '(x)'}]`, "tag_name"},
	} {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(inline, "static_resources:", "stats_config:\n  stats_tags: "+tc.tags+"\nstatic_resources:", 1)
			if _, err := ParseBootstrap([]byte(doc)); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one about %q", err, tc.err)
			}
		})
	}
}

func TestPrometheusName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"wasmcustom.credgate.requests", "credgate_requests", true},
		{"wasmcustom.a-b.c", "a_b_c", true},
		{"wasmcustom.9lives", "", false},
		{"cluster.x.upstream_rq", "envoy_cluster_x_upstream_rq", true},
	} {
		if got, ok := PrometheusName(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("PrometheusName(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAdminAddr(t *testing.T) {
	for _, tc := range []struct{ bootstrap, opt, want, err string }{
		{"127.0.0.1:9901", "", "", ""},
		{"127.0.0.1:9901", AdminFromBootstrap, "127.0.0.1:9901", ""},
		{"0.0.0.0:9901", AdminFromBootstrap, "127.0.0.1:9901", ""},
		{"", AdminFromBootstrap, "", "no admin address"},
		{"127.0.0.1:9901", "9902", "127.0.0.1:9902", ""},
		{"127.0.0.1:9901", "127.0.0.1:0", "127.0.0.1:0", ""},
		{"127.0.0.1:9901", "[::1]:9902", "[::1]:9902", ""},
		{"127.0.0.1:9901", "localhost:9902", "localhost:9902", ""},
		{"127.0.0.1:9901", "0.0.0.0:9902", "", "loopback only"},
		{"127.0.0.1:9901", "admin.example:9902", "", "loopback only"},
		{"127.0.0.1:9901", "nope", "", "admin address"},
	} {
		got, err := adminAddr(tc.bootstrap, tc.opt)
		if got != tc.want || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("adminAddr(%q, %q) = %q, %v; want %q, error about %q", tc.bootstrap, tc.opt, got, err, tc.want, tc.err)
		}
	}
}

// TestReady answers LIVE while serving and DRAINING (503) once Shutdown
// began, as Envoy's /ready does.
func TestReady(t *testing.T) {
	a := &admin{g: &Gateway{}}
	for _, tc := range []struct {
		draining bool
		status   int
		body     string
	}{{false, 200, "LIVE\n"}, {true, 503, "DRAINING\n"}} {
		a.g.draining.Store(tc.draining)
		w := httptest.NewRecorder()
		readOnly(http.HandlerFunc(a.ready)).ServeHTTP(w, httptest.NewRequest("GET", "/ready", nil))
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("draining %v: %d %q, want %d %q", tc.draining, w.Code, w.Body, tc.status, tc.body)
		}
	}
	w := httptest.NewRecorder()
	readOnly(http.HandlerFunc(a.ready)).ServeHTTP(w, httptest.NewRequest("POST", "/ready", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /ready: %d, want 405", w.Code)
	}
}
