// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

// Command abi020loglevel declares ABI 0.2.0 but imports proxy_get_log_level,
// which Envoy only provides to ABI 0.2.1 modules.
package main

import "unsafe"

func main() {}

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(out unsafe.Pointer) uint32

//go:wasmexport proxy_abi_version_0_2_0
func proxyABIVersion() {}

var pinned [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	buf := make([]byte, max(size, 1))
	pinned = append(pinned, buf)
	return unsafe.Pointer(&buf[0])
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(root, size uint32) uint32 {
	var l uint32
	return proxyGetLogLevel(unsafe.Pointer(&l))
}
