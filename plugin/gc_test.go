// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// TestGCPressureDetectsUnpinnedAllocator is the negative control of the
// GC-pressure scenarios: a module built without allocation pinning
// (`build-wasm.sh --unpinned`) must get some scenario wrong under pressure.
// If it ever passes, the pressure test no longer exercises the hazard.
func TestGCPressureDetectsUnpinnedAllocator(t *testing.T) {
	unpinned := filepath.Join("..", "build", "credgate-unpinned.wasm")
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			m := compiledFile(t, unpinned, p)
			cfg := baseConfig(scenarioConfig, scenarioNow).WithGCPressure(4 << 20)
			h, err := hostcalls.NewHost(context.Background(), m, cfg)
			if err != nil {
				t.Logf("the unpinned module could not even start under pressure: %v", err)
				return
			}
			defer h.Close(context.Background())
			wrong := 0
			for _, sc := range scenarios(t) {
				res, err := h.Do(context.Background(), hostcalls.Request{Method: sc.method, Path: sc.path, Authority: "api.example", Headers: sc.headers})
				status := 0
				if err == nil && res.LocalResponse != nil {
					status = res.LocalResponse.Status
				}
				if err != nil || status != sc.wantStatus {
					wrong++
				}
			}
			if wrong == 0 && len(h.Traps()) == 0 {
				t.Fatal("the unpinned module passed every scenario under GC pressure: the pressure test does not detect the hazard")
			}
			t.Logf("unpinned module: %d of %d scenarios wrong, %d traps", wrong, len(scenarios(t)), len(h.Traps()))
		})
	}
}

// TestGCStress sends thousands of requests with large headers through the
// real module on two VMs under each profile, forcing the Go GC inside the
// module, and requires every outcome right and zero traps. Under envoy-1.33 a
// runtime that ever idled would call the ENOSYS poll_oneoff stub and trap.
func TestGCStress(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	good := token(t, jwtSecretK1, "k1", nil)
	bad := token(t, "wrong-secret-0123456789abcdef012345", "k1", nil)
	filler := strings.Repeat("x", 2048)
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := newWasmHost(t, p, baseConfig(scenarioConfig, scenarioNow).WithVMs(2))
			start := time.Now()
			for i := 0; i < n; i++ {
				headers := make([][2]string, 0, 24)
				for j := 0; j < 20; j++ {
					headers = append(headers, [2]string{fmt.Sprintf("x-filler-%d", j), filler})
				}
				want := 0
				if i%3 == 0 {
					headers = append(headers, [2]string{"authorization", "Bearer " + bad})
					want = 401
				} else {
					headers = append(headers, [2]string{"authorization", "Bearer " + good}, [2]string{"x-credgate-subject", "spoof"})
				}
				res, err := h.Do(context.Background(), hostcalls.Request{Method: "POST", Path: "/Orders/Create", Authority: "api.example", Headers: headers})
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				switch {
				case want == 401 && (res.LocalResponse == nil || res.LocalResponse.Status != 401):
					t.Fatalf("request %d: want 401, got %+v", i, res.LocalResponse)
				case want == 0 && res.Upstream == nil:
					t.Fatalf("request %d: want upstream, got %+v", i, res.LocalResponse)
				case want == 0:
					if sub, _ := res.UpstreamHeader("x-credgate-subject"); sub != "customer-42" {
						t.Fatalf("request %d: subject %q", i, sub)
					}
				}
			}
			if traps := h.Traps(); len(traps) != 0 {
				t.Fatalf("%d traps: %v", len(traps), traps[0])
			}
			t.Logf("%s: %d requests with %d KiB of headers in %v, 0 traps", p, n, 20*len(filler)/1024, time.Since(start))
		})
	}
}
