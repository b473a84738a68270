// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

func TestCompileRefusesMissingImport(t *testing.T) {
	t.Parallel()
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			_, err := compileGuest(t, "missingimport", p)
			want := "Failed to load Wasm module due to a missing import: env.proxy_does_not_exist"
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
}

func TestCompileRefusesImportsOutsideTheABI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		guest string
		want  string
	}{
		{name: "ABI 0.2.1 function in a 0.2.0 module", guest: "abi020loglevel",
			want: "Failed to load Wasm module due to a missing import: env.proxy_get_log_level"},
		{name: "wrong signature", guest: "badsignature",
			want: "Failed to load Wasm module due to an import type mismatch for function env.proxy_log, want: (i32, i32, i64) -> (i32), but host exports: (i32, i32, i32) -> (i32)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileGuest(t, tc.guest, hostcalls.ProfileEnvoy139)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
		})
	}
}

func TestCompileRefusesModuleWithoutABIVersion(t *testing.T) {
	t.Parallel()
	// A valid module with no exports at all.
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	_, err := hostcalls.Compile(context.Background(), wasm, hostcalls.ProfileEnvoy133)
	if err == nil || !strings.Contains(err.Error(), "Missing or unknown Proxy-Wasm ABI version") {
		t.Fatalf("err = %v", err)
	}
}

func TestCompileUnknownProfile(t *testing.T) {
	t.Parallel()
	_, err := compileGuest(t, "abitest", "envoy-1.20")
	if err == nil || !strings.Contains(err.Error(), "unknown profile") {
		t.Fatalf("err = %v", err)
	}
}

func TestModuleImportsAndExports(t *testing.T) {
	t.Parallel()
	m := guestModule(t, "abitest", hostcalls.ProfileEnvoy139)
	for _, want := range []string{"env.proxy_log", "env.proxy_http_call", "wasi_snapshot_preview1.poll_oneoff", "wasi_snapshot_preview1.fd_write"} {
		if !slices.Contains(m.Imports(), want) {
			t.Errorf("Imports() lacks %s: %v", want, m.Imports())
		}
	}
	for _, want := range []string{"proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "_initialize"} {
		if !slices.Contains(m.Exports(), want) {
			t.Errorf("Exports() lacks %s", want)
		}
	}
	if m.ABIVersion() != "0.2.1" || m.Profile() != hostcalls.ProfileEnvoy139 {
		t.Errorf("ABIVersion %q, Profile %q", m.ABIVersion(), m.Profile())
	}
}

func TestRestrictedCallDuringInitialize(t *testing.T) {
	t.Parallel()
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			_, err := hostcalls.NewHost(context.Background(), guestModule(t, "initcall", p), hostcalls.NewConfig())
			if err == nil {
				t.Fatal("NewHost succeeded")
			}
			msg := err.Error()
			for _, want := range []string{"Function: _initialize failed", "restricted_callback",
				"before the restricted call", "env.proxy_set_tick_period_milliseconds"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "after the restricted call") {
				t.Errorf("the module went on after the restricted call:\n%s", msg)
			}
		})
	}
}

func TestLogAllowedDuringInitialize(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	if logs := h.Logs(); len(logs) == 0 || logs[0].Message != "init ok" || logs[0].Level != hostcalls.LogInfo {
		t.Fatalf("logs = %+v", logs)
	}
}

func TestConfigureRejection(t *testing.T) {
	t.Parallel()
	cfg := hostcalls.NewConfig().WithPluginConfig([]byte("reject: bad routes[0].path"))
	_, err := hostcalls.NewHost(context.Background(), guestModule(t, "abitest", hostcalls.ProfileEnvoy133), cfg)
	if err == nil {
		t.Fatal("NewHost succeeded")
	}
	for _, want := range []string{"configuration rejected", "plugin logs:", "[vm 0 error] configuration rejected: reject: bad routes[0].path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestVMAndPluginConfiguration(t *testing.T) {
	t.Parallel()
	cfg := hostcalls.NewConfig().WithVMConfig([]byte("vmconf")).WithPluginConfig([]byte("level=1")).
		WithVMs(2).WithLogLevel(hostcalls.LogDebug)
	h := newHost(t, hostcalls.ProfileEnvoy133, cfg)
	var got []string
	for _, e := range h.Logs() {
		got = append(got, e.Message)
	}
	for _, want := range []string{"vm config: vmconf", "plugin config: level=1 status=0 gcs=0", "log level 1"} {
		if n := count(got, want); n != 2 {
			t.Errorf("%q logged %d times, want once per VM: %q", want, n, got)
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
