// SPDX-License-Identifier: Apache-2.0

//go:build !wasm

package gcguard

// linearMemory is only known inside a wasm module.
func linearMemory() uint64 { return 0 }
