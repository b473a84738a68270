// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// The real plugin, when `make build` has produced it, loads under both
// profiles and starts: its _initialize stays within Envoy's start-up
// allow-list. Missing, it is skipped locally and fails in CI.
func TestRealPluginLoads(t *testing.T) {
	t.Parallel()
	wasm := realPluginWasm(t)
	cache := testCache(t)
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			m, err := hostcalls.CompileWithCache(ctx, cache, wasm, p)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(ctx)
			for _, want := range []string{"proxy_on_memory_allocate", "proxy_on_request_headers", "_initialize"} {
				if !slices.Contains(m.Exports(), want) {
					t.Errorf("exports lack %s", want)
				}
			}
			h, err := hostcalls.NewHost(ctx, m, hostcalls.NewConfig())
			if err != nil {
				// An empty configuration may be rejected, but only by
				// proxy_on_configure, never during start-up.
				if !strings.Contains(err.Error(), "proxy_on_configure returned false") {
					t.Fatalf("start-up failed: %v", err)
				}
				return
			}
			defer h.Close(ctx)
			if traps := h.Traps(); len(traps) > 0 {
				t.Fatalf("traps: %v", traps)
			}
		})
	}
}

// The real plugin answers the Go scheduler's poll_oneoff inside the module
// (scripts/build-wasm.sh), so it does not import it; Envoy 1.32 and older,
// which lack the functions PR #427 added, refuse it naming its first missing
// import.
func TestRealPluginImports(t *testing.T) {
	t.Parallel()
	wasm := realPluginWasm(t)
	ctx := context.Background()
	m, err := hostcalls.CompileWithCache(ctx, testCache(t), wasm, hostcalls.ProfileEnvoy133)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	for _, imp := range m.Imports() {
		if strings.HasSuffix(imp, ".poll_oneoff") {
			t.Errorf("the module imports %s", imp)
		}
	}
	if !slices.Contains(m.Imports(), "wasi_snapshot_preview1.sched_yield") {
		t.Errorf("imports lack sched_yield: %v", m.Imports())
	}
	_, err = hostcalls.Compile(ctx, wasm, hostcalls.ProfileEnvoy132)
	want := "Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.sched_yield"
	if err == nil || err.Error() != want {
		t.Fatalf("envoy-1.32: err = %v, want %q", err, want)
	}
}

// realPluginWasm reads build/credgate.wasm: missing, it skips locally and
// fails in CI.
func realPluginWasm(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join("..", "build", "credgate.wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: %v", path, err)
		}
		t.Skipf("%s is missing: run `make build` first", path)
	}
	return wasm
}
