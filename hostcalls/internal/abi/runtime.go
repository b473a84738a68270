// SPDX-License-Identifier: Apache-2.0

// Package abi is the proxy-wasm host ABI on wazero: the "env" functions
// Envoy exports to a module, the VM lifecycle, and the HTTP stream driver.
// Each host function's doc comment names the proxy-wasm-cpp-host function
// (src/exports.cc) or Envoy function (source/extensions/common/wasm/context.cc)
// it emulates.
package abi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/credgate/credgate/hostcalls/internal/wasi"
)

// ABIVersion is the Proxy-Wasm ABI version a module declares by exporting
// proxy_abi_version_X_Y_Z.
type ABIVersion string

// The ABI versions Envoy accepts.
const (
	ABI010 ABIVersion = "0.1.0"
	ABI020 ABIVersion = "0.2.0"
	ABI021 ABIVersion = "0.2.1"
)

// Runtime is a compiled module with the host modules of one profile.
type Runtime struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	Profile  wasi.Profile
	ABI      ABIVersion
	imports  []string
	exports  []string
	malloc   string
}

// Compile checks the module as proxy-wasm-cpp-host WasmBase::load and
// WasmBase::initialize do (ABI version, imports, allocator) and compiles it.
// A non-nil cache shares compiled code with other runtimes.
func Compile(ctx context.Context, wasm []byte, profile wasi.Profile, cache wazero.CompilationCache) (*Runtime, error) {
	wasiFns, err := wasi.Functions(profile)
	if err != nil {
		return nil, err
	}
	cfg := wazero.NewRuntimeConfig()
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	r := &Runtime{rt: rt, Profile: profile}
	if err := r.compile(ctx, wasm, wasiFns); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return r, nil
}

func (r *Runtime) compile(ctx context.Context, wasm []byte, wasiFns []wasi.Func) error {
	compiled, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("Failed to load Wasm bytecode: %w", err)
	}
	r.compiled = compiled
	for name := range compiled.ExportedFunctions() {
		r.exports = append(r.exports, name)
	}
	sort.Strings(r.exports)
	if r.ABI = abiVersion(compiled); r.ABI == "" {
		return errors.New("Missing or unknown Proxy-Wasm ABI version")
	}
	provided := r.provided(wasiFns)
	if err := r.checkImports(provided); err != nil {
		return err
	}
	switch {
	case compiled.ExportedFunctions()["malloc"] != nil:
		r.malloc = "malloc"
	case compiled.ExportedFunctions()["proxy_on_memory_allocate"] != nil:
		r.malloc = "proxy_on_memory_allocate"
	default:
		return errors.New("Wasm module is missing malloc function.")
	}
	if len(compiled.ExportedMemories()) == 0 {
		return errors.New("Wasm module exports no memory")
	}
	return r.instantiateHostModules(ctx, wasiFns)
}

// abiVersion reads the ABI version as proxy-wasm-cpp-host
// BytecodeUtil::getAbiVersion does: from the name of an exported function.
func abiVersion(c wazero.CompiledModule) ABIVersion {
	exp := c.ExportedFunctions()
	for _, v := range []ABIVersion{ABI010, ABI020, ABI021} {
		if exp["proxy_abi_version_"+strings.ReplaceAll(string(v), ".", "_")] != nil {
			return v
		}
	}
	return ""
}

type signature struct{ params, results []api.ValueType }

// provided lists every function the host exports to this module, with its
// signature, keyed "module.name".
func (r *Runtime) provided(wasiFns []wasi.Func) map[string]signature {
	m := map[string]signature{}
	for _, f := range envFunctions(r.ABI) {
		m["env."+f.Name] = signature{f.Params, f.Results}
	}
	for _, mod := range wasi.Modules {
		for _, f := range wasiFns {
			m[mod+"."+f.Name] = signature{f.Params, f.Results}
		}
	}
	return m
}

// checkImports refuses a module importing anything the host lacks, in the
// words of proxy-wasm-cpp-host's runtimes when they link a module.
func (r *Runtime) checkImports(provided map[string]signature) error {
	for _, def := range r.compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		key := mod + "." + name
		r.imports = append(r.imports, key)
		sig, ok := provided[key]
		if !ok {
			return fmt.Errorf("Failed to load Wasm module due to a missing import: %s", key)
		}
		if !sameTypes(sig.params, def.ParamTypes()) || !sameTypes(sig.results, def.ResultTypes()) {
			return fmt.Errorf("Failed to load Wasm module due to an import type mismatch for function %s, want: %s, but host exports: %s",
				key, typesString(def.ParamTypes(), def.ResultTypes()), typesString(sig.params, sig.results))
		}
	}
	for _, def := range r.compiled.ImportedMemories() {
		mod, name, _ := def.Import()
		return fmt.Errorf("Failed to load Wasm module due to a missing import: %s.%s", mod, name)
	}
	sort.Strings(r.imports)
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func typesString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}

func (r *Runtime) instantiateHostModules(ctx context.Context, wasiFns []wasi.Func) error {
	env := r.rt.NewHostModuleBuilder("env")
	for _, f := range envFunctions(r.ABI) {
		env.NewFunctionBuilder().WithGoModuleFunction(guarded("env."+f.Name, f.Call), f.Params, f.Results).Export(f.Name)
	}
	if _, err := env.Instantiate(ctx); err != nil {
		return err
	}
	for _, mod := range wasi.Modules {
		b := r.rt.NewHostModuleBuilder(mod)
		for _, f := range wasiFns {
			b.NewFunctionBuilder().WithGoModuleFunction(guardedWASI(mod+"."+f.Name, f.Call), f.Params, f.Results).Export(f.Name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Imports lists the module's imports as "module.name", sorted.
func (r *Runtime) Imports() []string { return append([]string(nil), r.imports...) }

// Exports lists the module's exported functions, sorted.
func (r *Runtime) Exports() []string { return append([]string(nil), r.exports...) }

// Close releases the compiled module and every VM instantiated from it.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }
