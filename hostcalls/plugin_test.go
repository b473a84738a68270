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
	path := filepath.Join("..", "build", "credgate.wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: %v", path, err)
		}
		t.Skipf("%s is missing: run `make build` first", path)
	}
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
