// SPDX-License-Identifier: Apache-2.0

// Package wasi is the subset of WASI that Envoy gives a Proxy-Wasm module,
// under both "wasi_snapshot_preview1" and "wasi_unstable", in two profiles:
//
//   - envoy-1.33 (Envoy 1.33 to 1.38): the functions of proxy-wasm-cpp-host
//     src/exports.cc, plus fd_fdstat_set_flags, poll_oneoff and sched_yield
//     added as stubs by proxy-wasm-cpp-host PR #427 (present so that a Go
//     module links; fd_fdstat_set_flags and poll_oneoff answer ENOSYS,
//     sched_yield answers success).
//   - envoy-1.39: the same functions, with those three implemented
//     (proxy-wasm-cpp-host PR #533): poll_oneoff sleeps for clock
//     subscriptions.
//
// Envoy releases before 1.33 do not export the three functions at all, so a
// module compiled by the standard Go toolchain fails to load there with a
// missing import.
package wasi

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// Profile names an Envoy WASI surface.
type Profile string

// The supported profiles.
const (
	Envoy133 Profile = "envoy-1.33"
	Envoy139 Profile = "envoy-1.39"
)

// Modules are the two import module names Envoy registers every WASI
// function under.
var Modules = [...]string{"wasi_snapshot_preview1", "wasi_unstable"}

// Env is what a WASI function needs from the VM calling it.
type Env interface {
	// Log records a message at a proxy-wasm log level, as proxy_log does.
	Log(level uint32, msg string)
	// Output receives the raw bytes written to fd 1 or 2.
	Output(fd uint32, b []byte)
	// Error reports a host-side error (cpp-host ContextBase::error).
	Error(msg string)
	// Realtime is the wall clock in nanoseconds since the Unix epoch.
	Realtime() uint64
	// Monotonic is a monotonic clock in nanoseconds.
	Monotonic() uint64
}

// Func is one WASI host function.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
	Call    func(ctx context.Context, mod api.Module, env Env, stack []uint64)
}

// Functions returns the WASI functions of profile p, or an error for an
// unknown profile.
func Functions(p Profile) ([]Func, error) {
	fns := common()
	switch p {
	case Envoy133:
		return append(fns, stubs133()...), nil
	case Envoy139:
		return append(fns, impls139()...), nil
	}
	return nil, fmt.Errorf("unknown profile %q (known: %s, %s)", p, Envoy133, Envoy139)
}

// AllowedDuringStart is the list of imports a module may call while
// _initialize (or _start and main) runs: proxy-wasm-cpp-host
// WasmBase::startVm (src/wasm.cc). Any other host function traps with
// "restricted_callback" and the VM fails.
func AllowedDuringStart(p Profile) map[string]bool {
	names := []string{"fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
		"fd_prestat_get", "fd_prestat_dir_name", "clock_time_get", "random_get",
		// The Go runtime's start-up (syscall.SetNonblock on stdio), allowed since
		// the Go support of proxy-wasm-cpp-host PR #427.
		"fd_fdstat_get", "fd_fdstat_set_flags"}
	if p == Envoy139 {
		names = append(names, "sched_yield", "poll_oneoff")
	}
	return allowList(names)
}

// AllowedDuringAlloc is the list of imports a module may call while the host
// runs its allocator (proxy_on_memory_allocate or malloc):
// proxy-wasm-cpp-host WasmBase::allocMemory. The Go runtime's collector reads
// the clock there; from envoy-1.39 it may also sleep (PR #533).
func AllowedDuringAlloc(p Profile) map[string]bool {
	names := []string{"fd_write", "clock_time_get"}
	if p == Envoy139 {
		names = append(names, "sched_yield", "poll_oneoff")
	}
	return allowList(names)
}

func allowList(wasiNames []string) map[string]bool {
	m := map[string]bool{"env.proxy_log": true}
	for _, n := range wasiNames {
		for _, mod := range Modules {
			m[mod+"."+n] = true
		}
	}
	return m
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
