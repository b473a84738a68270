// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

// The collector-stall sequence measured on Envoy's Wasm host: a few thousand
// valid JWT requests (distinct tokens, so the verified-token cache holds a
// live heap worth marking), then unauthenticated requests with 40 KiB of
// headers. In a std-Go reactor only allocation assists mark; once the
// runtime's GC CPU limiter turns on, they stop and the cycle never ends.
//
// Two things make the collector's share of time as high here as on a fast
// host: the guest's GOGC=10, set through the VM environment as an operator
// would set it (Envoy vm_config.environment_variables), and a guest clock
// that counts only the guest's own running time (the emulator's own work per
// request, larger than Envoy's, would otherwise count as the mutator's).
const (
	stallJWTs      = 5000
	stallFlood     = 16000
	stallHeaders   = 40
	stallLimit     = 64 << 20 // linear memory no healthy VM reaches (it stays near 12 MiB)
	stallCheckStep = 1000
)

func stallConfig() hostcalls.Config {
	return baseConfig(scenarioConfig, scenarioNow).WithEnv("GOGC", "10").WithGuestTimeClock(true)
}

// floodResult is what one run of the stall sequence saw.
type floodResult struct {
	requests int    // unauthenticated requests sent
	memory   uint64 // linear memory at the end (or when it passed the limit)
	peak     uint64 // the largest linear memory seen after the JWT phase
}

// runStallSequence sends the sequence to a fresh host and stops early once
// linear memory passes stallLimit.
func runStallSequence(t *testing.T, m *hostcalls.Module) (floodResult, *hostcalls.Host) {
	t.Helper()
	h, err := hostcalls.NewHost(context.Background(), m, stallConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	ctx := context.Background()
	for i := 0; i < stallJWTs; i++ {
		tok := token(t, jwtSecretK1, "k1", map[string]any{"sub": fmt.Sprintf("customer-%d", i)})
		res, err := h.Do(ctx, hostcalls.Request{Method: "POST", Path: "/Orders/Create", Authority: "api.example",
			Headers: [][2]string{{"authorization", "Bearer " + tok}}})
		if err != nil || res.Upstream == nil {
			t.Fatalf("jwt request %d: %v %+v", i, err, res.LocalResponse)
		}
	}
	filler := strings.Repeat("x", 1024)
	headers := make([][2]string, stallHeaders)
	for j := range headers {
		headers[j] = [2]string{fmt.Sprintf("x-filler-%d", j), filler}
	}
	var r floodResult
	for r.requests < stallFlood {
		res, err := h.Do(ctx, hostcalls.Request{Method: "POST", Path: "/Orders/Create", Authority: "api.example", Headers: headers})
		if err != nil {
			t.Fatalf("flood request %d: %v", r.requests, err)
		}
		if res.LocalResponse == nil || res.LocalResponse.Status != 401 {
			t.Fatalf("flood request %d: want 401, got %+v (traps %v)", r.requests, res.LocalResponse, h.Traps())
		}
		r.requests++
		if r.requests%stallCheckStep == 0 {
			r.memory = h.LinearMemory()[0]
			r.peak = max(r.peak, r.memory)
			if r.memory > stallLimit {
				break
			}
		}
	}
	return r, h
}

// TestCollectorSurvivesLargeHeaderFlood runs the stall sequence on the real
// module under each profile: linear memory must stay bounded, no VM may
// trap, collections must keep completing, and the memory gauges must tell.
func TestCollectorSurvivesLargeHeaderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("the stall sequence sends 21,000 requests per profile")
	}
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			r, h := runStallSequence(t, compiledPlugin(t, p))
			if traps := h.Traps(); len(traps) > 0 {
				t.Fatalf("the VM trapped: %v", traps[0])
			}
			if r.peak > stallLimit {
				t.Fatalf("linear memory reached %d MiB after %d unauthenticated requests: the collector is stuck", r.peak>>20, r.requests)
			}
			cycles, ok := h.Metric("credgate.vm.0.gc_cycles")
			if !ok || cycles < 100 {
				t.Fatalf("gc_cycles gauge = %d (defined %v): collections stopped or are not reported", cycles, ok)
			}
			lin, _ := h.Metric("credgate.vm.0.linear_memory_bytes")
			if lin == 0 || lin > r.memory {
				t.Fatalf("linear_memory_bytes gauge = %d, host sees %d", lin, r.memory)
			}
			heap, _ := h.Metric("credgate.vm.0.heap_bytes")
			goal, _ := h.Metric("credgate.vm.0.heap_goal_bytes")
			if heap == 0 || goal == 0 || heap > lin {
				t.Fatalf("heap gauges: heap %d, goal %d, linear memory %d", heap, goal, lin)
			}
			if n, _ := h.Metric("credgate.vm.0.gc_corrections"); n != 0 {
				t.Errorf("the watchdog corrected %d stuck collections: yielding alone should keep the collector going", n)
			}
			t.Logf("%s: %d unauthenticated requests, linear memory %d MiB (peak %d MiB), %d GC cycles, heap %d KiB of goal %d KiB",
				p, r.requests, r.memory>>20, r.peak>>20, cycles, heap>>10, goal>>10)
		})
	}
}

// TestStallSequenceDetectsUnguardedModule is the negative control: the same
// sequence on a module built without the collector guard
// (`build-wasm.sh --unguarded`, today's module before the guard) must get
// stuck. If it ever stays bounded, the sequence no longer reproduces the
// stall and the test above proves nothing.
func TestStallSequenceDetectsUnguardedModule(t *testing.T) {
	if testing.Short() {
		t.Skip("the stall sequence sends thousands of requests")
	}
	unguarded := filepath.Join("..", "build", "credgate-unguarded.wasm")
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			r, _ := runStallSequence(t, compiledFile(t, unguarded, p))
			if r.peak <= stallLimit {
				t.Fatalf("the unguarded module stayed at %d MiB after %d requests: the sequence does not reproduce the stall", r.peak>>20, r.requests)
			}
			t.Logf("%s: the unguarded module passed %d MiB after %d unauthenticated requests", p, r.peak>>20, r.requests)
		})
	}
}

// TestWatchdogAloneCorrectsStall runs the sequence on a module that keeps only
// the guard's second line (`build-wasm.sh --watchdog-only`): the watchdog must
// notice the stuck cycle, finish it, count it, and keep memory bounded.
func TestWatchdogAloneCorrectsStall(t *testing.T) {
	if testing.Short() {
		t.Skip("the stall sequence sends 21,000 requests per profile")
	}
	watchdog := filepath.Join("..", "build", "credgate-watchdog-only.wasm")
	for _, p := range hostcalls.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			r, h := runStallSequence(t, compiledFile(t, watchdog, p))
			if traps := h.Traps(); len(traps) > 0 {
				t.Fatalf("the VM trapped: %v", traps[0])
			}
			n, _ := h.Metric("credgate.vm.0.gc_corrections")
			if n == 0 {
				t.Fatalf("no correction counted (peak %d MiB after %d requests)", r.peak>>20, r.requests)
			}
			if r.peak > stallLimit {
				t.Fatalf("linear memory reached %d MiB despite %d corrections", r.peak>>20, n)
			}
			if !hasWarning(h, "the Go collector was stuck") {
				t.Error("no warning logged for a correction")
			}
			t.Logf("%s: %d corrections, peak %d MiB after %d unauthenticated requests", p, n, r.peak>>20, r.requests)
		})
	}
}

func hasWarning(h *hostcalls.Host, substr string) bool {
	for _, l := range h.Logs() {
		if l.Level == hostcalls.LogWarn && strings.Contains(l.Message, substr) {
			return true
		}
	}
	return false
}
