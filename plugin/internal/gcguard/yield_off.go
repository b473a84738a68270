// SPDX-License-Identifier: Apache-2.0

//go:build credgate_noyield

package gcguard

// Negative control: no yield. Never ship it.
const yieldEnabled = false
