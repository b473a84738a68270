// SPDX-License-Identifier: Apache-2.0

// Package gcguard keeps the Go collector of a Proxy-Wasm module collecting,
// and measures the module's memory for the proxy's stats.
//
// A module built by the standard Go toolchain is a reactor: the proxy calls
// an export, the export runs on the calling goroutine and returns, and no
// other goroutine runs until the next export (golang/go#65199). The
// collector's background mark workers are goroutines, so they never run and
// every cycle's mark work is done by allocation assists. When the collector's
// CPU limiter turns on (the collector's share of time, as the runtime counts
// it, stays above 50%), assists stop, nothing else re-evaluates the limiter
// (wasm has no sysmon), and the mark phase never ends: the heap grows without
// bound. Measured on Envoy's Wasm host after 12k to 350k requests with large
// headers.
//
// The guard does two things:
//
//   - Yield, at the end of each stream, lets the scheduler run once, so the
//     collector's background worker gets its share of time and the limiter is
//     re-evaluated. The module answers the scheduler's poll_oneoff itself
//     (scripts/build-wasm.sh), so this is safe on every Envoy.
//   - Check, every few streams, reads runtime/metrics and, if no cycle has
//     completed while the heap grew past twice its goal, runs a full
//     collection and counts a correction. It is the second line: with Yield
//     it should never fire.
package gcguard

import (
	"runtime"
	"runtime/metrics"
)

// Stats is one reading of the module's memory.
type Stats struct {
	// HeapBytes is the memory held by heap objects, live or not yet swept.
	HeapBytes uint64
	// HeapGoal is the heap size at which the current cycle should end.
	HeapGoal uint64
	// Cycles is the number of completed collections.
	Cycles uint64
	// LimiterCycle is the last cycle in which the CPU limiter was on (0: never).
	LimiterCycle uint64
	// LinearMemory is the module's linear memory in bytes (0 outside wasm).
	LinearMemory uint64
}

var sampleNames = [...]string{
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/goal:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/limiter/last-enabled:gc-cycle",
}

// Guard is the per-VM state. It is not safe for concurrent use; a module's
// VM is single-threaded.
type Guard struct {
	every   int
	streams int
	samples []metrics.Sample
	last    Stats
	stalled int
	// Corrections counts the full collections Check ran for a stuck cycle.
	Corrections uint64
}

// New returns a guard that checks memory every `every` streams (at least 1).
func New(every int) *Guard {
	g := &Guard{every: max(every, 1), samples: make([]metrics.Sample, len(sampleNames))}
	for i, n := range sampleNames {
		g.samples[i].Name = n
	}
	return g
}

// Yield lets the Go scheduler run the goroutines that are ready, the
// collector's workers among them, before the export returns to the proxy.
func Yield() {
	if yieldEnabled {
		runtime.Gosched()
	}
}

// AfterStream is called once per finished stream: it yields, and reports
// whether a check is due.
func (g *Guard) AfterStream() bool {
	Yield()
	g.streams++
	if g.streams < g.every {
		return false
	}
	g.streams = 0
	return true
}

// Read returns the current memory figures.
func (g *Guard) Read() Stats {
	metrics.Read(g.samples)
	var s Stats
	for i, dst := range []*uint64{&s.HeapBytes, &s.HeapGoal, &s.Cycles, &s.LimiterCycle} {
		if g.samples[i].Value.Kind() == metrics.KindUint64 {
			*dst = g.samples[i].Value.Uint64()
		}
	}
	s.LinearMemory = linearMemory()
	return s
}

// Check reads the figures and corrects a stuck cycle. It returns the
// reading (taken after any correction) and whether it corrected.
func (g *Guard) Check() (Stats, bool) {
	s := g.Read()
	if Stuck(g.last, s) {
		g.stalled++
	} else {
		g.stalled = 0
	}
	g.last = s
	if g.stalled < 2 || !watchdogEnabled {
		return s, false
	}
	runtime.GC()
	g.Corrections++
	g.stalled = 0
	s = g.Read()
	g.last = s
	return s, true
}

// stuckSlack is heap growth past twice the goal that is never judged stuck:
// the first cycles of a small heap overshoot by a few MiB.
const stuckSlack = 4 << 20

// Stuck reports whether cur shows a collection that is not finishing: no
// cycle completed since prev, and the heap is past twice its goal.
func Stuck(prev, cur Stats) bool {
	return prev.Cycles != 0 && cur.Cycles == prev.Cycles && cur.HeapBytes > 2*cur.HeapGoal+stuckSlack
}
