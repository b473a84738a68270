// SPDX-License-Identifier: Apache-2.0

// Package wasi is the subset of WASI that Envoy gives a Proxy-Wasm module,
// under both "wasi_snapshot_preview1" and "wasi_unstable", in the profiles
// of the proxy-wasm-cpp-host commits Envoy links:
//
//   - envoy-1.32 (before PR #427, e.g. 63cb9c1; Envoy 1.32 and older): the
//     functions of src/exports.cc, without fd_fdstat_set_flags, poll_oneoff
//     and sched_yield. A module built by the standard Go toolchain imports
//     them and is refused with a missing import. Kept to test that refusal;
//     it is not a supported profile.
//   - envoy-1.33 (c4d7bb0, PR #427; Envoy 1.33 to 1.37, 1.38 not checked):
//     those three added as stubs so that a Go module links;
//     fd_fdstat_set_flags and poll_oneoff answer ENOSYS (52), sched_yield
//     answers success.
//   - envoy-1.39 (f2db56a, the newest pin, with PR #533): poll_oneoff writes
//     nevents = 0 and answers success at once (it never sleeps),
//     fd_fdstat_set_flags still answers ENOSYS, sched_yield answers success.
package wasi

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// Profile names an Envoy WASI surface.
type Profile string

// The profiles.
const (
	Envoy132 Profile = "envoy-1.32"
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
	// Environ is the VM's environment (Envoy vm_config
	// environment_variables), as "KEY=value" entries.
	Environ() []string
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
	case Envoy132:
		return fns, nil
	case Envoy133:
		return append(fns, stubs133()...), nil
	case Envoy139:
		return append(fns, impls139()...), nil
	}
	return nil, fmt.Errorf("unknown profile %q (known: %s, %s, %s)", p, Envoy132, Envoy133, Envoy139)
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
		// The newest host allows poll_oneoff here, and still not sched_yield.
		names = append(names, "poll_oneoff")
	}
	return allowList(names)
}

// AllowedDuringAlloc is the list of imports a module may call while the host
// runs its allocator (proxy_on_memory_allocate or malloc):
// proxy-wasm-cpp-host WasmBase::allocMemory. The Go runtime's collector reads
// the clock there; from envoy-1.39 it may also yield and poll (PR #533).
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
