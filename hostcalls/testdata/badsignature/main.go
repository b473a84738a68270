// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

// Command badsignature imports proxy_log with a signature Envoy does not
// export (a 64-bit size).
package main

import "unsafe"

func main() {}

//go:wasmimport env proxy_log
func proxyLog(level uint32, ptr unsafe.Pointer, size uint64) uint32

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
	msg := "x"
	return proxyLog(2, unsafe.Pointer(unsafe.StringData(msg)), 1)
}
