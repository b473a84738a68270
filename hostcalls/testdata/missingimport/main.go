// SPDX-License-Identifier: Apache-2.0

//go:build wasip1

// Command missingimport imports a function Envoy does not provide; loading
// it must fail with an error naming that import.
package main

import "unsafe"

func main() {}

//go:wasmimport env proxy_does_not_exist
func proxyDoesNotExist() uint32

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
func proxyOnVMStart(root, size uint32) uint32 { return proxyDoesNotExist() }
