// SPDX-License-Identifier: Apache-2.0

//go:build !credgate_noyield

package gcguard

// yieldEnabled is true in every shipped module; scripts/build-wasm.sh builds
// negative controls without it (--unguarded, --watchdog-only) that tests use
// to prove the stall is reproduced and the watchdog alone corrects it.
const yieldEnabled = true
