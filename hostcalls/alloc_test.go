// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// TestStreamHostMemory bounds what the host allocates per stream. Resolving
// an export through wazero builds a call engine with a stack of about 10 KB,
// so a host that resolved each export on every call allocated about 90 KB
// per stream of this guest; the VM now resolves each export once. The bound
// counts bytes, not time, so the test is stable on a loaded machine.
func TestStreamHostMemory(t *testing.T) {
	tests := []struct {
		name string
		req  hostcalls.Request
	}{
		{"continue", hostcalls.Request{Method: "GET", Path: "/", Authority: "api.example"}},
		{"read headers", get("read")},
		{"local reply", get("local")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig())
			for i := 0; i < 20; i++ { // every export used once, buffers grown
				if _, err := h.Do(context.Background(), tc.req); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtimeMem
			before.read()
			const n = 50
			for i := 0; i < n; i++ {
				if _, err := h.Do(context.Background(), tc.req); err != nil {
					t.Fatal(err)
				}
			}
			after.read()
			perStream := (after.bytes - before.bytes) / n
			t.Logf("%d bytes per stream", perStream)
			if perStream > 24<<10 {
				t.Errorf("the host allocates %d bytes per stream, want at most 24 KiB: is an export resolved per call again?", perStream)
			}
		})
	}
}

// runtimeMem is the process's cumulative heap allocation.
type runtimeMem struct{ bytes uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.bytes = s.TotalAlloc
}
