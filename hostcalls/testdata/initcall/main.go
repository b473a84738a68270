// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

// Command initcall calls a proxy-wasm function other than proxy_log while
// _initialize runs, which Envoy forbids.
package main

import "unsafe"

func main() {}

//go:wasmimport env proxy_log
func proxyLog(level uint32, ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriod(ms uint32) uint32

func init() {
	msg := "before the restricted call"
	proxyLog(2, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	proxySetTickPeriod(1000)
	msg = "after the restricted call"
	proxyLog(2, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

//go:wasmexport proxy_abi_version_0_2_0
func proxyABIVersion() {}

var pinned [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	buf := make([]byte, max(size, 1))
	pinned = append(pinned, buf)
	return unsafe.Pointer(&buf[0])
}
