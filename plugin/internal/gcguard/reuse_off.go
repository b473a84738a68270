// SPDX-License-Identifier: Apache-2.0

//go:build credgate_noreuse

package gcguard

// ReuseStreams is off in the negative-control modules. With stream storage
// reused, a request that is refused makes almost no garbage, so the
// measured stall sequence (large unauthenticated requests) no longer gets
// an unguarded collector stuck, and the host's header buffer never goes
// through the allocator whose pinning the GC-pressure test checks. The
// controls keep a fresh context, header buffer and pairs per stream, as
// the SDK makes them, so those tests still prove what they test: that the
// guard and the watchdog free a stuck collector, and that pinning matters.
const ReuseStreams = false
