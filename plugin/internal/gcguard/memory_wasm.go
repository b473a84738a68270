// SPDX-License-Identifier: Apache-2.0

package gcguard

// currentMemoryPages is the wasm memory.size instruction: linear memory in
// 64 KiB pages.
func currentMemoryPages() int32

func linearMemory() uint64 { return uint64(currentMemoryPages()) << 16 }
