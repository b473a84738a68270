// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// The three functions Envoy added for Go modules: stubs up to 1.38, working
// from 1.39.
func TestWASIProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile hostcalls.Profile
		wasi    string
	}{
		{name: "envoy-1.33 stubs", profile: hostcalls.ProfileEnvoy133,
			wasi: "yield=0 flags=52 poll=52 events=0 slept="},
		{name: "envoy-1.39 implementations", profile: hostcalls.ProfileEnvoy139,
			wasi: "yield=0 flags=0 poll=0 events=1 slept=true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, tc.profile, hostcalls.NewConfig())
			res, err := h.Do(context.Background(), get("wasi"))
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := res.UpstreamHeader("x-wasi"); !strings.HasPrefix(v, tc.wasi) {
				t.Fatalf("x-wasi = %q, want %q", v, tc.wasi)
			}
		})
	}
}

// A Go module whose scheduler sleeps (time.Sleep) dies on Envoy 1.33 to 1.38,
// whose poll_oneoff is a stub, and works on 1.39.
func TestGoSleepNeedsEnvoy139(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile hostcalls.Profile
		status  int
		trapped bool
	}{
		{name: "envoy-1.33", profile: hostcalls.ProfileEnvoy133, status: 503, trapped: true},
		{name: "envoy-1.39", profile: hostcalls.ProfileEnvoy139, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, tc.profile, hostcalls.NewConfig())
			res, err := h.Do(context.Background(), get("sleep"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Response.Status != tc.status || (len(h.Traps()) > 0) != tc.trapped {
				t.Fatalf("status %d, traps %v", res.Response.Status, h.Traps())
			}
			if tc.trapped && !hasLog(h, hostcalls.LogError, "poll_oneoff") {
				t.Fatalf("logs lack the poll_oneoff failure: %+v", h.Logs())
			}
		})
	}
}

// With GC pressure the module's collector runs between the host's write of
// a returned buffer and the module's read; a module that pins the buffers it
// hands out still reads the right bytes. Each case uses a fresh host: the
// pressure of one call raises the module's heap goal for the next.
func TestGCPressure(t *testing.T) {
	t.Parallel()
	blob := strings.Repeat("a", 4096)
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p)+"/request header", func(t *testing.T) {
			t.Parallel()
			h := newHost(t, p, hostcalls.NewConfig().WithGCPressure(16<<20))
			res, err := h.Do(context.Background(), get("gc", [2]string{"x-blob", blob}))
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := res.UpstreamHeader("x-blob-check"); v != "true/4096" {
				t.Fatalf("x-blob-check = %q", v)
			}
			if v, _ := res.UpstreamHeader("x-gcs"); v == "0" || v == "" {
				t.Fatalf("no collection ran during the host call: x-gcs = %q", v)
			}
			if len(h.Traps()) != 0 {
				t.Fatalf("traps: %v", h.Traps())
			}
		})
		t.Run(string(p)+"/plugin configuration", func(t *testing.T) {
			t.Parallel()
			h := newHost(t, p, hostcalls.NewConfig().WithGCPressure(16<<20).WithPluginConfig([]byte(blob[:64])))
			if !hasLog(h, hostcalls.LogInfo, "plugin config: "+blob[:64]+" status=0 gcs=") || hasLog(h, hostcalls.LogInfo, "gcs=0") {
				t.Fatalf("configuration read without a collection: %+v", h.Logs())
			}
		})
	}
}

// Host.Calls counts the module's calls by import: here the start-up calls
// of the Go runtime, and a request that calls no WASI function at all.
func TestCalls(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	before := h.Calls()
	if before["env.proxy_log"] == 0 || before["wasi_snapshot_preview1.fd_fdstat_get"] == 0 || before["wasi_snapshot_preview1.poll_oneoff"] != 0 {
		t.Fatalf("start-up calls: %v", before)
	}
	if _, err := h.Do(context.Background(), get("set")); err != nil {
		t.Fatal(err)
	}
	after := h.Calls()
	if after["env.proxy_add_header_map_value"] != before["env.proxy_add_header_map_value"]+2 {
		t.Errorf("header calls: %d then %d", before["env.proxy_add_header_map_value"], after["env.proxy_add_header_map_value"])
	}
	for name, n := range after {
		if strings.HasPrefix(name, "wasi_") && name != "wasi_snapshot_preview1.clock_time_get" && n != before[name] {
			t.Errorf("%s called during the request", name)
		}
	}
}
