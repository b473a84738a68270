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
//   - Check, every few streams while the module's memory grows (and every
//     few hundred streams otherwise), reads runtime/metrics and, if no cycle
//     has completed while the heap grew past twice its goal, runs a full
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
	// quiet counts the due checks skipped since the last reading; memory is
	// that reading's linear memory, and roomy the linear memory below which
	// no heap can be stuck at its goal.
	quiet  int
	memory uint64
	roomy  uint64
	// linear reads the module's linear memory (tests replace it).
	linear  func() uint64
	samples []metrics.Sample
	last    Stats
	stalled int
	// Corrections counts the full collections Check ran for a stuck cycle.
	Corrections uint64
}

// SteadyChecks is how many due checks in a row a guard may skip. It skips
// one when reading could not find a stuck collection: linear memory is the
// same as at the last reading and too small to hold a heap past twice the
// goal (Stuck), and the goal only moves when a cycle ends, so the heap cannot
// have got there. The reading costs about 15 µs in the module, a visible share
// of a request, so a VM whose memory is steady reads once every SteadyChecks
// due checks (which keeps the gauges fresh), and a VM whose memory grows, or
// is large for its goal, reads at every due check, as before.
const SteadyChecks = 16

// New returns a guard that checks memory every `every` streams (at least 1)
// while linear memory grows, and every every*SteadyChecks streams otherwise.
func New(every int) *Guard {
	g := &Guard{every: max(every, 1), samples: make([]metrics.Sample, len(sampleNames)),
		memory: ^uint64(0), linear: linearMemory} // the first check is due
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
	g.quiet++
	mem := g.linear()
	return g.quiet >= SteadyChecks || mem != g.memory || mem > g.roomy
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
	s.LinearMemory = g.linear()
	g.memory, g.roomy, g.quiet = s.LinearMemory, 2*s.HeapGoal+stuckSlack, 0
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

// GaugeNames are the stat names of a VM's memory gauges under its slot's
// prefix, in the order of Gauges' deltas.
var GaugeNames = [...]string{"heap_bytes", "heap_goal_bytes", "gc_cycles", "linear_memory_bytes"}

// Gauges is what a VM has published on its memory gauges. A VM publishes by
// adding deltas to them: VMs that share a slot name (overflow) share its
// gauges, each VM's share is what it added, and a VM that moves to another
// slot takes its share back from the old one.
type Gauges struct {
	// Slot is the slot name the values were published under ("": none yet).
	Slot string
	// IDs are the proxy's metric ids of the slot's gauges, by GaugeNames.
	IDs  [len(GaugeNames)]uint32
	sent [len(GaugeNames)]uint64
}

// Deltas returns what to add to each gauge to publish s, and records s as
// published.
func (g *Gauges) Deltas(s Stats) [len(GaugeNames)]int64 {
	var d [len(GaugeNames)]int64
	for i, v := range [len(GaugeNames)]uint64{s.HeapBytes, s.HeapGoal, s.Cycles, s.LinearMemory} {
		d[i] = int64(v - g.sent[i])
		g.sent[i] = v
	}
	return d
}

// Retract returns what to add to each gauge to take back all that was
// published, and forgets it.
func (g *Gauges) Retract() [len(GaugeNames)]int64 {
	var d [len(GaugeNames)]int64
	for i, v := range g.sent {
		d[i] = -int64(v)
	}
	g.sent = [len(GaugeNames)]uint64{}
	return d
}
