// SPDX-License-Identifier: Apache-2.0

package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// statShape is every name the plugin may define: fixed words, the
// configuration's route names, the plugin's schemes, three outcomes and
// reason codes. A name outside it would break the tag rules in
// envoy/envoy.yaml or let a client choose stat names.
var statShape = regexp.MustCompile(`^credgate\.(` +
	`requests\.[A-Za-z0-9_-]+\.[a-z0-9_]+\.(allow|deny|unavailable)|` +
	`denials\.[A-Za-z0-9_-]+\.[a-z0-9_]+|` +
	`cache\.(hit|miss|stale)|cluster\.(errors|latency_ms)|revocations\.(evicted|errors)|` +
	`vm\.([0-9]+|overflow)\.(linear_memory_bytes|heap_bytes|heap_goal_bytes|gc_cycles|gc_corrections))$`)

// TestStatsPerRouteAndReason sends real requests through build/credgate.wasm
// and reads the counters the host holds, as Envoy's stats store would: one
// per route, scheme and outcome, one per route and deny reason, nothing
// named after what a client sent.
func TestStatsPerRouteAndReason(t *testing.T) {
	e := newClusterEnv(t, hostcalls.ProfileEnvoy139, 2)
	const evil = "evil-label"
	sends := []struct {
		method, path string
		headers      []string
		status       int // 0: reaches the upstream
	}{
		{"GET", "/Supplier/Products/List", apiKeyHeaders, 0},
		{"GET", "/Supplier/Products/List", apiKeyHeaders, 0},
		{"GET", "/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001"}, 401},
		{"GET", "/v1/designs/7", nil, 401},
		{"GET", "/v1/designs/7", []string{"Authorization", "Bearer " + evil}, 401},
		{"GET", "/v1/designs/7", []string{"Authorization", "Bearer " + evil}, 401},
		{"GET", "/v1/designs/../" + evil, nil, 400},
		{"GET", "/" + evil + ".x/y", []string{"Authorization", "Bearer " + evil + ".x.y", evil, evil}, 403},
		{"GET", "/healthz", nil, 0},
	}
	for _, s := range sends {
		res := e.call(t, s.method, s.path, s.headers...)
		switch {
		case s.status == 0:
			expectUpstream(t, res, nil)
		case res.LocalResponse == nil || res.LocalResponse.Status != s.status:
			t.Fatalf("%s %s: want %d, got %+v", s.method, s.path, s.status, res.LocalResponse)
		}
	}
	want := map[string]uint64{
		"credgate.requests.supplier.api_key.allow":       2,
		"credgate.requests.supplier.api_key.deny":        1,
		"credgate.denials.supplier.api_key_no_tenant":    1,
		"credgate.requests.designs.none.deny":            1,
		"credgate.denials.designs.credentials_missing":   1,
		"credgate.requests.designs.oauth2_bearer.deny":   2,
		"credgate.denials.designs.oauth2_bearer_invalid": 2,
		"credgate.requests.-.none.deny":                  2,
		"credgate.denials.-.path_not_normalized":         1,
		"credgate.denials.-.no_route":                    1,
		"credgate.requests.health.none.allow":            1,
	}
	got := e.host.Metrics()
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s = %d, want %d", name, got[name], n)
		}
	}
	for name := range got {
		if !statShape.MatchString(name) {
			t.Errorf("stat %q is not of a documented shape", name)
		}
		if strings.Contains(name, "evil") {
			t.Errorf("stat %q is named after the request", name)
		}
	}
	if t.Failed() {
		t.Logf("stats: %v", got)
	}
}

// TestStatsUnavailable counts a request the token cluster could not decide
// as unavailable, with the deny reason, on its route.
func TestStatsUnavailable(t *testing.T) {
	e := newClusterEnv(t, hostcalls.ProfileEnvoy139, 1)
	e.tc.Stop(t)
	res := e.call(t, "GET", "/Supplier/Products/List", apiKeyHeaders...)
	if res.LocalResponse == nil || res.LocalResponse.Status != 503 {
		t.Fatalf("want 503 with the token cluster down, got %+v", res.LocalResponse)
	}
	got := e.host.Metrics()
	if got["credgate.requests.supplier.api_key.unavailable"] != 1 {
		t.Errorf("credgate.requests.supplier.api_key.unavailable = %d, want 1 (stats: %v)",
			got["credgate.requests.supplier.api_key.unavailable"], got)
	}
	n := uint64(0)
	for name, v := range got {
		if strings.HasPrefix(name, "credgate.denials.supplier.") {
			n += v
		}
	}
	if n != 1 {
		t.Errorf("denials on supplier = %d, want 1 (stats: %v)", n, got)
	}
}
