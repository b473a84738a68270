// SPDX-License-Identifier: Apache-2.0

package envoy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// wasmPath is the module `make build` produces; compose mounts the same file.
var wasmPath = filepath.Join("..", "build", "credgate.wasm")

// modules compiles the real module once per profile for the test binary.
var modules struct {
	once sync.Once
	byP  map[hostcalls.Profile]*hostcalls.Module
	err  error
}

// pluginModules returns build/credgate.wasm compiled under every profile. A
// missing module fails the test in CI and skips it elsewhere.
func pluginModules(t *testing.T) map[hostcalls.Profile]*hostcalls.Module {
	t.Helper()
	b, err := os.ReadFile(wasmPath)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: %v", wasmPath, err)
		}
		t.Skipf("%s is missing: run `make build` first", wasmPath)
	}
	modules.once.Do(func() {
		cache := hostcalls.NewCache()
		modules.byP = map[hostcalls.Profile]*hostcalls.Module{}
		for _, p := range hostcalls.Profiles() {
			m, err := hostcalls.CompileWithCache(context.Background(), cache, b, p)
			if err != nil {
				modules.err = fmt.Errorf("compile %s under %s: %w", wasmPath, p, err)
				return
			}
			modules.byP[p] = m
		}
	})
	if modules.err != nil {
		t.Fatal(modules.err)
	}
	return modules.byP
}

// startPlugin starts the real module with config as its plugin configuration
// under every profile, the way Envoy starts it (proxy_on_vm_start, then
// proxy_on_configure). It returns the first refusal, which carries the
// plugin's own log lines naming the bad field.
func startPlugin(t *testing.T, config []byte) error {
	t.Helper()
	for _, p := range hostcalls.Profiles() {
		m := pluginModules(t)[p]
		// The VM environment envoy.yaml and the WasmPlugin pass on.
		cfg := hostcalls.NewConfig().WithPluginConfig(config).WithEnv("CREDGATE_VERIFY_TOKEN", "envoy-test-verify-token-0123")
		h, err := hostcalls.NewHost(context.Background(), m, cfg)
		if err != nil {
			return fmt.Errorf("under %s: %w", p, err)
		}
		traps := h.Traps()
		if err := h.Close(context.Background()); err != nil {
			return fmt.Errorf("under %s: close: %w", p, err)
		}
		if len(traps) > 0 {
			return fmt.Errorf("under %s: the module trapped: %w", p, errors.Join(traps...))
		}
	}
	return nil
}

// TestPluginRefusesBrokenConfiguration is the negative control of every
// startPlugin check in this package: a configuration the plugin must refuse
// is refused, so an accepted one means something.
func TestPluginRefusesBrokenConfiguration(t *testing.T) {
	base := bootstrapPluginConfig(t, loadBootstrap(t, bootstrapPath))
	tests := []struct {
		name    string
		old     string
		new     string
		wantLog string
	}{
		{
			name:    "unknown scheme",
			old:     `"schemes": ["oauth2_bearer"]`,
			new:     `"schemes": ["oauth2_bearer", "carrier_pigeon"]`,
			wantLog: `unknown scheme "carrier_pigeon"`,
		},
		{
			name:    "no token cluster name",
			old:     `"cluster": "token_cluster"`,
			new:     `"cluster": ""`,
			wantLog: "token_cluster.cluster",
		},
		{
			name:    "not JSON",
			old:     `"realm": "credgate-demo",`,
			new:     `"realm": "credgate-demo",,`,
			wantLog: "not valid JSON",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("the bootstrap's plugin configuration no longer contains %q; update this test", tc.old)
			}
			broken := strings.Replace(base, tc.old, tc.new, 1)
			err := startPlugin(t, []byte(broken))
			if err == nil {
				t.Fatalf("the plugin accepted a broken configuration (%s)", tc.name)
			}
			if !strings.Contains(err.Error(), tc.wantLog) {
				t.Errorf("refused, but not for %q: %v", tc.wantLog, err)
			}
		})
	}
}
