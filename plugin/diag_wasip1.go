// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

package main

import "runtime/metrics"

// heapObjects is read by credgate_diag_heap_objects.
var heapObjects = []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}

// credgate_diag_heap_objects returns how many heap objects the module's Go
// runtime has allocated so far (runtime/metrics /gc/heap/allocs:objects),
// for the benchmarks to count allocations per request inside the module. It
// is a diagnostic: no proxy calls it (proxy-wasm knows only proxy_* and
// _initialize), it reads a counter, and it allocates nothing. The runtime
// updates the count when a span is refilled, so it is exact over many
// requests, not per request.
//
//go:wasmexport credgate_diag_heap_objects
func diagHeapObjects() uint64 {
	metrics.Read(heapObjects)
	return heapObjects[0].Value.Uint64()
}
