// SPDX-License-Identifier: Apache-2.0

//go:build !credgate_nowatchdog

package gcguard

// watchdogEnabled is true in every shipped module; scripts/build-wasm.sh
// --unguarded builds a negative control without it.
const watchdogEnabled = true
