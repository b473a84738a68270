package hostcalls_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
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
}

func guestWasm(t testing.TB, name string) []byte {
	t.Helper()
	guests.mu.Lock()
	defer guests.mu.Unlock()
	if b, ok := guests.wasm[name]; ok {
		return b
	}
	src := filepath.Join("testdata", name)
	sum := sha256.New()
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources for guest %s: %v", name, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum.Write([]byte(f))
		sum.Write(b)
	}
	out, err := filepath.Abs(filepath.Join("..", "build", "testguests", name+"-"+hex.EncodeToString(sum.Sum(nil))[:16]+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+src)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building guest %s: %v\n%s", name, err, b)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if guests.wasm == nil {
		guests.wasm = map[string][]byte{}
	}
	guests.wasm[name] = b
	return b
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
	m, err := hostcalls.Compile(context.Background(), wasm, p)
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
