// SPDX-License-Identifier: Apache-2.0

package hostcalls

import (
	"context"

	"github.com/tetratelabs/wazero"

	"github.com/credgate/credgate/hostcalls/internal/abi"
	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

// Profile names the Envoy release line whose WASI surface the host
// reproduces. See the package documentation for the table.
type Profile string

const (
	// ProfileEnvoy132 is Envoy 1.32 and older (proxy-wasm-cpp-host before PR
	// #427): fd_fdstat_set_flags, poll_oneoff and sched_yield are missing, so
	// a module built by the standard Go toolchain is refused. It is not a
	// supported profile; it exists to test that refusal.
	ProfileEnvoy132 Profile = "envoy-1.32"
	// ProfileEnvoy133 is Envoy 1.33 to 1.37 (proxy-wasm-cpp-host c4d7bb0, PR
	// #427): fd_fdstat_set_flags, poll_oneoff and sched_yield exist only as
	// stubs; the first two answer ENOSYS.
	ProfileEnvoy133 Profile = "envoy-1.33"
	// ProfileEnvoy139 is the newest Envoy (proxy-wasm-cpp-host f2db56a, with
	// PR #533): poll_oneoff reports no event and returns at once,
	// fd_fdstat_set_flags still answers ENOSYS.
	ProfileEnvoy139 Profile = "envoy-1.39"
)

// Profiles returns every supported profile, oldest first.
func Profiles() []Profile { return []Profile{ProfileEnvoy133, ProfileEnvoy139} }

// Module is a compiled guest; compile once, start many hosts (compilation
// takes about a second; cache it).
type Module struct {
	rt *abi.Runtime
}

// Compile validates the module as Envoy does when it loads it, then compiles
// it for profile.
//
// # Notes
//
//   - The module must export a Proxy-Wasm ABI version
//     (proxy_abi_version_0_1_0, _0_2_0 or _0_2_1), else "Missing or unknown
//     Proxy-Wasm ABI version".
//   - Every import must be one Envoy provides for that ABI version and
//     profile, with the same signature; otherwise the error names it:
//     "Failed to load Wasm module due to a missing import: env.proxy_x".
//   - The module must export memory and proxy_on_memory_allocate (or malloc).
func Compile(ctx context.Context, wasm []byte, profile Profile) (*Module, error) {
	return CompileWithCache(ctx, nil, wasm, profile)
}

// Cache shares compiled machine code between Compile calls, e.g. one module
// compiled under both profiles, or by several test packages' helpers. It is
// safe for concurrent use.
type Cache struct {
	c wazero.CompilationCache
}

// NewCache returns an in-memory cache.
func NewCache() *Cache { return &Cache{c: wazero.NewCompilationCache()} }

// NewDirCache returns a cache kept in dir, so that compiled code survives
// the process: a test binary or a gateway restarted with the same module
// skips compilation. The directory is created if needed.
func NewDirCache(dir string) (*Cache, error) {
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	return &Cache{c: c}, nil
}

// Close releases the cache; modules compiled with it keep working.
func (c *Cache) Close(ctx context.Context) error { return c.c.Close(ctx) }

// CompileWithCache is Compile with a cache of compiled code; a nil cache is
// no cache.
func CompileWithCache(ctx context.Context, cache *Cache, wasm []byte, profile Profile) (*Module, error) {
	var wc wazero.CompilationCache
	if cache != nil {
		wc = cache.c
	}
	rt, err := abi.Compile(ctx, wasm, wasi.Profile(profile), wc)
	if err != nil {
		return nil, err
	}
	return &Module{rt: rt}, nil
}

// Close releases the compiled module and every host started from it.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// Imports lists the module's function imports as "module.name", sorted.
func (m *Module) Imports() []string { return m.rt.Imports() }

// Exports lists the module's exported functions, sorted.
func (m *Module) Exports() []string { return m.rt.Exports() }

// Profile returns the profile the module was compiled for.
func (m *Module) Profile() Profile { return Profile(m.rt.Profile) }

// ABIVersion returns the Proxy-Wasm ABI version the module declares, e.g.
// "0.2.1".
func (m *Module) ABIVersion() string { return string(m.rt.ABI) }
