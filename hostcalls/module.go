package hostcalls

import (
	"context"

	"github.com/credgate/credgate/hostcalls/internal/abi"
	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

// Profile names the Envoy release line whose WASI surface the host
// reproduces. See the package documentation for the table.
type Profile string

const (
	// ProfileEnvoy133 is Envoy 1.33 to 1.38: fd_fdstat_set_flags, poll_oneoff
	// and sched_yield exist only as stubs (proxy-wasm-cpp-host PR #427).
	ProfileEnvoy133 Profile = "envoy-1.33"
	// ProfileEnvoy139 is Envoy 1.39 and later: those three functions work
	// (proxy-wasm-cpp-host PR #533).
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
	rt, err := abi.Compile(ctx, wasm, wasi.Profile(profile))
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
