// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// guests builds each test guest once per test binary, caching the output
// under build/testguests by a hash of its sources.
var guests struct {
	mu      sync.Mutex
	wasm    map[string][]byte
	modules map[string]*hostcalls.Module
	cache   *hostcalls.Cache
}

func guestWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := buildGuest(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildGuest builds testdata/<name> with the standard Go toolchain:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
func buildGuest(name string) ([]byte, error) {
	guests.mu.Lock()
	defer guests.mu.Unlock()
	if b, ok := guests.wasm[name]; ok {
		return b, nil
	}
	src := filepath.Join("testdata", name)
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no sources for guest %s: %v", name, err)
	}
	sum := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sum.Write([]byte(f))
		sum.Write(b)
	}
	out, err := filepath.Abs(filepath.Join("..", "build", "testguests", name+"-"+hex.EncodeToString(sum.Sum(nil))[:16]+".wasm"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(out); err != nil {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, "./"+src)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building guest %s: %v\n%s", name, err, b)
		}
		if err := os.Rename(tmp, out); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if guests.wasm == nil {
		guests.wasm = map[string][]byte{}
	}
	guests.wasm[name] = b
	return b, nil
}

// guestModule compiles a guest once per profile for the whole test binary.
func guestModule(t testing.TB, name string, p hostcalls.Profile) *hostcalls.Module {
	t.Helper()
	wasm := guestWasm(t, name)
	key := name + "/" + string(p)
	guests.mu.Lock()
	defer guests.mu.Unlock()
	if m, ok := guests.modules[key]; ok {
		return m
	}
	m, err := hostcalls.CompileWithCache(context.Background(), sharedCacheLocked(t), wasm, p)
	if err != nil {
		t.Fatalf("compiling %s for %s: %v", name, p, err)
	}
	if guests.modules == nil {
		guests.modules = map[string]*hostcalls.Module{}
	}
	guests.modules[key] = m
	return m
}

func newHost(t *testing.T, p hostcalls.Profile, cfg hostcalls.Config) *hostcalls.Host {
	t.Helper()
	h, err := hostcalls.NewHost(context.Background(), guestModule(t, "abitest", p), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// testCache keeps compiled code under build/wazero-cache (git-ignored), so
// that later runs, -race ones included, skip compilation.
func testCache(t testing.TB) *hostcalls.Cache {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "build", "wazero-cache"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := hostcalls.NewDirCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// compileGuest compiles a guest with the shared cache, for tests that expect
// Compile to fail.
func compileGuest(t testing.TB, name string, p hostcalls.Profile) (*hostcalls.Module, error) {
	t.Helper()
	wasm := guestWasm(t, name)
	guests.mu.Lock()
	cache := sharedCacheLocked(t)
	guests.mu.Unlock()
	return hostcalls.CompileWithCache(context.Background(), cache, wasm, p)
}

func sharedCacheLocked(t testing.TB) *hostcalls.Cache {
	if guests.cache == nil {
		guests.cache = testCache(t)
	}
	return guests.cache
}
