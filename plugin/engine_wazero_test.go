// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// wasmPath is the module `make build` produces.
var wasmPath = filepath.Join("..", "build", "credgate.wasm")

// modules compiles each module file once per profile per test binary.
var modules struct {
	mu  sync.Mutex
	byP map[string]*hostcalls.Module
}

// compiledPlugin returns the compiled real module.
func compiledPlugin(t testing.TB, p hostcalls.Profile) *hostcalls.Module {
	return compiledFile(t, wasmPath, p)
}

// compiledFile compiles a module file once per profile. A missing file fails
// the test in CI and skips it elsewhere with the command to build it.
func compiledFile(t testing.TB, path string, p hostcalls.Profile) *hostcalls.Module {
	t.Helper()
	modules.mu.Lock()
	defer modules.mu.Unlock()
	key := path + "|" + string(p)
	if m, ok := modules.byP[key]; ok {
		return m
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: %v", path, err)
		}
		t.Skipf("%s is missing: run `make build` first", path)
	}
	m, err := hostcalls.Compile(context.Background(), b, p)
	if err != nil {
		t.Fatalf("compile %s under %s: %v", path, p, err)
	}
	if modules.byP == nil {
		modules.byP = map[string]*hostcalls.Module{}
	}
	modules.byP[key] = m
	return m
}

// wasmEngine runs requests through build/credgate.wasm on the hostcalls host.
type wasmEngine struct {
	host *hostcalls.Host
}

func newWasmHost(t testing.TB, p hostcalls.Profile, cfg hostcalls.Config) *hostcalls.Host {
	t.Helper()
	h, err := hostcalls.NewHost(context.Background(), compiledPlugin(t, p), cfg)
	if err != nil {
		t.Fatalf("start plugin under %s: %v", p, err)
	}
	t.Cleanup(func() {
		if traps := h.Traps(); len(traps) > 0 {
			t.Errorf("the module trapped %d times under %s: %v", len(traps), p, traps[0])
		}
		_ = h.Close(context.Background())
	})
	return h
}

func baseConfig(config string, now time.Time) hostcalls.Config {
	return hostcalls.NewConfig().WithPluginConfig([]byte(config)).WithClock(func() time.Time { return now })
}

func (e *wasmEngine) do(t *testing.T, method, path string, headers [][2]string) outcome {
	t.Helper()
	res, err := e.host.Do(context.Background(), hostcalls.Request{Method: method, Path: path, Authority: "api.example", Headers: headers})
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if lr := res.LocalResponse; lr != nil {
		if res.Upstream != nil {
			t.Fatal("a local reply was sent, yet the request reached the upstream")
		}
		return outcome{status: lr.Status, body: string(lr.Body), headers: headerMap(lr.Headers)}
	}
	if res.Upstream == nil {
		t.Fatalf("no local reply and nothing reached the upstream: %+v", res)
	}
	return outcome{upstream: headerMap(res.Upstream.Headers)}
}

func (e *wasmEngine) logs() []string {
	var out []string
	for _, l := range e.host.Logs() {
		out = append(out, l.Message)
	}
	return out
}

func TestScenariosWasm(t *testing.T) {
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			runScenarios(t, &wasmEngine{host: newWasmHost(t, p, baseConfig(scenarioConfig, scenarioNow))})
		})
		// Under GC pressure the module collects garbage between every write the
		// host makes into its memory and the plugin's read of it. The plugin
		// configuration and every header must still arrive intact.
		t.Run(string(p)+"/gc-pressure", func(t *testing.T) {
			runScenarios(t, &wasmEngine{host: newWasmHost(t, p, baseConfig(scenarioConfig, scenarioNow).WithGCPressure(4<<20))})
		})
	}
}
