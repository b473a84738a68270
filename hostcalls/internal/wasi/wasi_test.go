// SPDX-License-Identifier: Apache-2.0

package wasi_test

import (
	"testing"

	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

func TestFunctions(t *testing.T) {
	t.Parallel()
	want := []string{"fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get", "environ_get",
		"environ_sizes_get", "args_get", "args_sizes_get", "clock_time_get", "random_get", "proc_exit",
		"path_open", "fd_prestat_get", "fd_prestat_dir_name", "fd_fdstat_set_flags", "sched_yield", "poll_oneoff"}
	for _, p := range []wasi.Profile{wasi.Envoy133, wasi.Envoy139} {
		fns, err := wasi.Functions(p)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range fns {
			if got[f.Name] {
				t.Errorf("%s: %s twice", p, f.Name)
			}
			got[f.Name] = true
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d functions, want %d", p, len(got), len(want))
		}
		for _, n := range want {
			if !got[n] {
				t.Errorf("%s lacks %s", p, n)
			}
		}
	}
	old, err := wasi.Functions(wasi.Envoy132)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if f.Name == "fd_fdstat_set_flags" || f.Name == "poll_oneoff" || f.Name == "sched_yield" {
			t.Errorf("envoy-1.32 provides %s, added only by PR #427", f.Name)
		}
	}
	if len(old) != len(want)-3 {
		t.Errorf("envoy-1.32: %d functions, want %d", len(old), len(want)-3)
	}
	if _, err := wasi.Functions("envoy-1.31"); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestAllowLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		list    map[string]bool
		allowed []string
		denied  []string
	}{
		{name: "start 1.33", list: wasi.AllowedDuringStart(wasi.Envoy133),
			allowed: []string{"env.proxy_log", "wasi_unstable.fd_write", "wasi_snapshot_preview1.random_get", "wasi_snapshot_preview1.fd_fdstat_get"},
			denied:  []string{"env.proxy_get_property", "wasi_snapshot_preview1.poll_oneoff", "wasi_snapshot_preview1.proc_exit"}},
		{name: "start 1.39", list: wasi.AllowedDuringStart(wasi.Envoy139),
			allowed: []string{"wasi_snapshot_preview1.poll_oneoff", "wasi_unstable.poll_oneoff"},
			denied:  []string{"env.proxy_http_call", "wasi_snapshot_preview1.sched_yield", "wasi_unstable.sched_yield"}},
		{name: "alloc 1.33", list: wasi.AllowedDuringAlloc(wasi.Envoy133),
			allowed: []string{"env.proxy_log", "wasi_snapshot_preview1.clock_time_get"},
			denied:  []string{"wasi_snapshot_preview1.poll_oneoff", "wasi_snapshot_preview1.random_get"}},
		{name: "alloc 1.39", list: wasi.AllowedDuringAlloc(wasi.Envoy139),
			allowed: []string{"wasi_snapshot_preview1.poll_oneoff"},
			denied:  []string{"env.proxy_get_current_time_nanoseconds"}},
	}
	for _, tc := range tests {
		for _, n := range tc.allowed {
			if !tc.list[n] {
				t.Errorf("%s: %s not allowed", tc.name, n)
			}
		}
		for _, n := range tc.denied {
			if tc.list[n] {
				t.Errorf("%s: %s allowed", tc.name, n)
			}
		}
	}
}
