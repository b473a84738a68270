// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// The three functions Envoy added for Go modules: stubs in cpp-host c4d7bb0
// (Envoy 1.33-1.37); in the newest pin (f2db56a) poll_oneoff reports no
// event at once and never sleeps, and fd_fdstat_set_flags still answers
// ENOSYS.
func TestWASIProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile hostcalls.Profile
		wasi    string
	}{
		{name: "envoy-1.33 stubs", profile: hostcalls.ProfileEnvoy133,
			wasi: "yield=0 flags=52 poll=52 events=0 slept="},
		{name: "envoy-1.39 newest host", profile: hostcalls.ProfileEnvoy139,
			wasi: "yield=0 flags=52 poll=0 events=0 slept=false"},
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

// A Go module whose scheduler sleeps (time.Sleep) dies on Envoy 1.33 to 1.37,
// whose poll_oneoff answers ENOSYS. On the newest host poll_oneoff returns at
// once with no event, so the runtime spins until its timer is due.
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

// The VM environment reaches the module through environ_get, as Envoy's
// vm_config.environment_variables do.
func TestVMEnvironment(t *testing.T) {
	t.Parallel()
	cfg := hostcalls.NewConfig().WithEnv("CREDGATE_TEST", "first").WithEnv("GOGC", "50").WithEnv("CREDGATE_TEST", "value=with=equals")
	h := newHost(t, hostcalls.ProfileEnvoy133, cfg)
	res, err := h.Do(context.Background(), get("env"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.UpstreamHeader("x-env"); v != "value=with=equals/2" {
		t.Fatalf("x-env = %q, want the last value and 2 variables", v)
	}
	plain := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	res, err = plain.Do(context.Background(), get("env"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.UpstreamHeader("x-env"); v != "/0" {
		t.Fatalf("without variables x-env = %q", v)
	}
}

// With the guest clock, time spent outside guest code does not advance the
// module's monotonic clock; with the default clock it does.
func TestGuestTimeClock(t *testing.T) {
	t.Parallel()
	const pause = 100 * time.Millisecond
	mono := func(h *hostcalls.Host) time.Duration {
		res, err := h.Do(context.Background(), get("mono"))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := res.UpstreamHeader("x-mono")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("x-mono = %q", v)
		}
		return time.Duration(n)
	}
	for _, guest := range []bool{false, true} {
		h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig().WithGuestTimeClock(guest))
		before := mono(h)
		time.Sleep(pause)
		passed := mono(h) - before
		switch {
		case guest && passed >= pause:
			t.Errorf("guest clock: %v passed while the host slept %v", passed, pause)
		case !guest && passed < pause:
			t.Errorf("wall clock: only %v passed while the host slept %v", passed, pause)
		}
	}
}
